"""Native approval (approval v4) behaviour: instances, their tasks and the events they emit."""

from __future__ import annotations

import json
from typing import Any

from tests.tools.feishu_sim.push import Pusher, v1_envelope
from tests.tools.feishu_sim.state import FeishuError, State, now_ms

UUID_REUSED = 60012


class Approvals:
    def __init__(self, state: State, pusher: Pusher) -> None:
        self.state, self.pusher = state, pusher

    # -- events ------------------------------------------------------------------------
    def _instance_event(self, inst: dict[str, Any]) -> None:
        if inst["approval_code"] not in self.state.subscribed:
            return  # Feishu pushes approval events only for subscribed definitions
        t = now_ms()
        self.pusher.emit(
            v1_envelope(
                self.state,
                {
                    "type": "approval_instance",
                    "approval_code": inst["approval_code"],
                    "instance_code": inst["instance_code"],
                    "status": inst["status"],
                    "operate_time": str(t),
                    "instance_operate_time": str(t),
                    "uuid": inst["uuid"],
                },
            )
        )

    def _task_event(self, inst: dict[str, Any], task: dict[str, Any]) -> None:
        if inst["approval_code"] not in self.state.subscribed:
            return
        self.pusher.emit(
            v1_envelope(
                self.state,
                {
                    "type": "approval_task",
                    "approval_code": inst["approval_code"],
                    "instance_code": inst["instance_code"],
                    "task_id": task["id"],
                    "user_id": task["user_id"],
                    "open_id": task["open_id"],
                    "status": task["status"],
                    "operate_time": str(now_ms()),
                    "custom_key": task["custom_node_id"],
                    "def_key": task["node_id"],
                    "extra": "",
                },
            )
        )

    # -- life cycle --------------------------------------------------------------------
    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        with state.lock:
            definition = state.approvals.get(body.get("approval_code", ""))
            if definition is None:
                raise FeishuError(1390002, "approval code not found")
            uid = body.get("uuid") or ""
            if uid and uid in state.by_uuid:
                raise FeishuError(UUID_REUSED, "uuid has been used", 400)
            initiator = (
                state.user_by(body["open_id"])
                if body.get("open_id")
                else state.user_by(body.get("user_id", ""), "user_id")
            )
            if initiator is None:
                raise FeishuError(1390001, "param is invalid: initiator not found")
            try:
                form = json.loads(body.get("form") or "[]")
            except ValueError as exc:
                raise FeishuError(1390001, "param is invalid: form is not JSON") from exc
            known = {w["id"] for w in definition.get("form", [])}
            unknown = [w.get("id") for w in form if w.get("id") not in known]
            if unknown:
                raise FeishuError(1390001, f"param is invalid: unknown widgets {unknown}")
            code = state.next_id("INST")
            inst = {
                "approval_code": definition["approval_code"],
                "approval_name": definition.get("approval_name", ""),
                "instance_code": code,
                "serial_number": str(len(state.instances) + 1),
                "start_time": str(now_ms()),
                "end_time": "0",
                "user_id": initiator["user_id"],
                "open_id": initiator["open_id"],
                "department_id": body.get("department_id", ""),
                "status": "PENDING",
                "uuid": uid or code,
                "form": body.get("form") or "[]",
                "title": body.get("title"),
                "task_list": [],
                "comment_list": [],
                "timeline": [
                    {
                        "type": "START",
                        "create_time": str(now_ms()),
                        "user_id": initiator["user_id"],
                        "open_id": initiator["open_id"],
                    }
                ],
                "reverted": False,
                "node_index": 0,
            }
            state.instances[code] = inst
            state.by_uuid[inst["uuid"]] = code
            self._instance_event(inst)
            self._open_node(inst)
            if state.faults.fail_after_commit > 0:
                state.faults.fail_after_commit -= 1
                raise FeishuError(1390003, "internal error (fault injection)", 500)
            return {"instance_code": code}

    def _approvers(self, inst: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
        approver = node.get("approver", "leader")
        if approver == "leader":
            initiator = self.state.users[inst["open_id"]]
            leader = self.state.users.get(initiator["leader_user_id"])
            return [leader] if leader else []
        return [self.state.users[o] for o in approver if o in self.state.users]

    def _open_node(self, inst: dict[str, Any]) -> None:
        nodes = self.state.approvals[inst["approval_code"]].get("nodes", [])
        while inst["node_index"] < len(nodes):
            node = nodes[inst["node_index"]]
            people = self._approvers(inst, node)
            if people:
                for person in people:
                    task = {
                        "id": self.state.next_id("TASK"),
                        "user_id": person["user_id"],
                        "open_id": person["open_id"],
                        "status": "PENDING",
                        "node_id": node["node_id"],
                        "node_name": node.get("name", ""),
                        "custom_node_id": node.get("custom_node_id", ""),
                        "type": "AND",
                        "start_time": str(now_ms()),
                        "end_time": "0",
                    }
                    inst["task_list"].append(task)
                    self._task_event(inst, task)
                return
            inst["node_index"] += 1  # nobody to ask: Feishu skips (auto-pass) the node
        self._finish(inst, "APPROVED")

    def _finish(self, inst: dict[str, Any], status: str) -> None:
        inst["status"], inst["end_time"] = status, str(now_ms())
        for task in inst["task_list"]:
            if task["status"] == "PENDING":
                task["status"] = "DONE"
        self._instance_event(inst)

    def get(self, code: str) -> dict[str, Any]:
        inst = self.state.instances.get(code)
        if inst is None:
            raise FeishuError(1390003, "instance code not found")
        return {k: v for k, v in inst.items() if k != "node_index"}

    def decide(self, code: str, who: str, decision: str, comment: str = "") -> dict[str, Any]:
        """An approver acts in Feishu (approve or reject their pending task)."""
        with self.state.lock:
            inst = self.state.instances[code]
            if inst["status"] != "PENDING":
                raise FeishuError(1390015, f"instance is {inst['status']}")
            user = self.state.user_by(who) or self.state.require_user(who, "user_id")
            task = next(
                (
                    t
                    for t in inst["task_list"]
                    if t["status"] == "PENDING" and t["open_id"] == user["open_id"]
                ),
                None,
            )
            if task is None:
                raise FeishuError(1390001, f"no pending task for {who}")
            task["status"] = "APPROVED" if decision == "approve" else "REJECTED"
            task["end_time"] = str(now_ms())
            inst["timeline"].append(
                {
                    "type": "PASS" if decision == "approve" else "REJECT",
                    "create_time": str(now_ms()),
                    "user_id": user["user_id"],
                    "open_id": user["open_id"],
                    "task_id": task["id"],
                    "comment": comment,
                }
            )
            if comment:
                inst["comment_list"].append(
                    {
                        "id": self.state.next_id("C"),
                        "comment": comment,
                        "user_id": user["user_id"],
                        "open_id": user["open_id"],
                        "create_time": str(now_ms()),
                    }
                )
            self._task_event(inst, task)
            if decision == "reject":
                self._finish(inst, "REJECTED")
            elif all(t["status"] != "PENDING" for t in inst["task_list"]):
                inst["node_index"] += 1
                self._open_node(inst)
            return self.get(code)

    def set_status(self, code: str, status: str, who: str | None = None) -> dict[str, Any]:
        """Initiator cancel (CANCELED), admin delete (DELETED), or revert of an approved one."""
        with self.state.lock:
            inst = self.state.instances.get(code)
            if inst is None:
                raise FeishuError(1390003, "instance code not found")
            if status == "CANCELED" and inst["status"] != "PENDING":
                raise FeishuError(1390015, f"instance is {inst['status']}, cannot cancel")
            if status == "CANCELED" and who and who not in (inst["open_id"], inst["user_id"]):
                raise FeishuError(1390001, "only the initiator may cancel")
            if status == "REVERTED":
                if inst["status"] != "APPROVED":
                    raise FeishuError(1390015, "only an approved instance can be reverted")
                inst["reverted"] = True
            inst["timeline"].append(
                {
                    "type": status,
                    "create_time": str(now_ms()),
                    "user_id": inst["user_id"],
                    "open_id": inst["open_id"],
                }
            )
            self._finish(inst, status)
            return self.get(code)

    def list_codes(self, approval_code: str, start: int, end: int) -> list[str]:
        return [
            c
            for c, i in self.state.instances.items()
            if i["approval_code"] == approval_code and start <= int(i["start_time"]) <= end
        ]
