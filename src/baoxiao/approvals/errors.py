"""Approval errors."""

from baoxiao.kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from baoxiao.kernel.i18n import Msg


class TaskNotFound(NotFound):
    code = "task_not_found"
    message = Msg("Approval task not found.", "未找到该审批任务。")


class TaskAlreadyDecided(Conflict):
    code = "task_already_decided"
    message = Msg(
        "This approval task was already {current_status}.",
        "该审批任务已处理(状态:{current_status})。",
    )


class TaskNotActive(Conflict):
    code = "task_not_active"
    message = Msg(
        "This approval task is not your turn yet: an earlier step is still open.",
        "该审批任务尚未轮到处理:前序审批节点仍未完成。",
    )


class CommentRequired(ValidationFailed):
    code = "comment_required"
    message = Msg(
        "Please give a reason when you {decision} a claim.", "退回或驳回报销单时请填写原因。"
    )


class SecondApproverRequired(Forbidden):
    code = "second_approver_required"
    message = Msg(
        "You already approved this claim; a second, different person must approve it.",
        "您已审批过此报销单,须由另一人进行第二次审批。",
    )


class InvalidAssignee(ValidationFailed):
    code = "invalid_assignee"
    message = Msg(
        "{field}: this person cannot take the task ({reason}).",
        "{field}:此人不能承接该审批任务({reason})。",
    )


class InvalidLineDecision(ValidationFailed):
    code = "invalid_line_decision"
    message = Msg("{field}: {reason}.", "{field}:{reason}。")


class ReturnTargetUnknown(ValidationFailed):
    code = "return_target_unknown"
    message = Msg(
        "There is no earlier step {target} to return to.", "没有可退回的前序节点 {target}。"
    )


class UrgedTooOften(Conflict):
    code = "urged_too_often"
    message = Msg("This claim was urged less than an hour ago.", "一小时内已催办过此报销单。")


class NothingToUrge(Conflict):
    code = "nothing_to_urge"
    message = Msg("No approval task of this claim is waiting.", "此报销单没有待处理的审批任务。")


class FlowNotFound(NotFound):
    code = "flow_not_found"
    message = Msg("Approval flow not found.", "未找到该审批流程。")


class FlowInvalid(ValidationFailed):
    code = "flow_invalid"
    message = Msg(
        "The approval flow has problems; see errors (each with a JSON pointer).",
        "审批流程定义有误,详见 errors(每项附 JSON 指针)。",
    )


class FlowKeyTaken(Conflict):
    code = "flow_key_taken"
    message = Msg("A flow with key {key} already exists.", "流程标识 {key} 已存在。")


class NoDraft(Conflict):
    code = "no_draft"
    message = Msg("This flow has no draft version to publish.", "该流程没有可发布的草稿版本。")


class DelegationInvalid(ValidationFailed):
    code = "delegation_invalid"
    message = Msg("{field}: {reason}.", "{field}:{reason}。")


class DelegationNotFound(NotFound):
    code = "delegation_not_found"
    message = Msg("Delegation not found.", "未找到该委托。")


class ApprovalDelegated(Conflict):
    code = "approval_delegated"
    message = Msg(
        "This claim's approval runs in {system}: it cannot be decided in Baoxiao.",
        "该报销单在{system}中审批,不能在本系统内审批。",
    )
