"""Errors of the integrations API."""

from __future__ import annotations

from baoxiao.kernel.errors import Forbidden, NotFound, ValidationFailed
from baoxiao.kernel.i18n import Msg


class ConnectorNotFound(NotFound):
    code = "connector_not_found"
    message = Msg("Connector instance not found.", "未找到该连接器实例。")


class UnknownConnectorKind(ValidationFailed):
    code = "unknown_connector_kind"
    message = Msg("No connector of kind {kind!r} is installed.", "未安装类型为 {kind} 的连接器。")


class ConnectorConfigInvalid(ValidationFailed):
    code = "connector_config_invalid"
    message = Msg("The connector configuration is invalid.", "连接器配置无效。")


class ActorNotInCompany(ValidationFailed):
    code = "actor_not_in_company"
    message = Msg(
        "The acting user must be an active user of the same company.",
        "代理用户必须是本公司的有效用户。",
    )


class ActorNeedsUserAdmin(Forbidden):
    code = "actor_needs_user_admin"
    message = Msg(
        "Callbacks would act with this user's roles: only a user administrator may name a "
        "person, or a user with more than the integrator role, as the acting user.",
        "回调将以该用户的角色执行:只有用户管理员才能将员工本人或拥有集成员以外角色的用户"
        "设为代理用户。",
    )


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"
    message = Msg("Delivery not found.", "未找到该投递记录。")


class EventTypeNotFound(NotFound):
    code = "event_type_not_found"
    message = Msg("Unknown event type.", "未知的事件类型。")
