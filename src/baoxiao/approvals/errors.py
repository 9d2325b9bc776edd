"""Approval errors."""

from baoxiao.kernel.errors import Conflict, NotFound, ValidationFailed
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
