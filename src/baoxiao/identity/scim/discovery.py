"""What the SCIM server publishes about itself: its config, resource types and schemas.

The schemas list only the attributes Baoxiao stores, so an IdP (and the
scim2-tester compliance checks) never sends what would be silently dropped.
"""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Meta,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
    User,
)

MAX_RESULTS = 200
DEFAULT_COUNT = 100

# Attribute -> the sub-attributes kept (None: a simple attribute).
USER_ATTRIBUTES: dict[str, set[str] | None] = {
    "userName": None,
    "name": {"formatted", "familyName", "givenName"},
    "displayName": None,
    "active": None,
    "emails": {"value", "type", "primary"},
    "groups": {"value", "$ref", "display"},
}
ENTERPRISE_ATTRIBUTES: dict[str, set[str] | None] = {
    "employeeNumber": None,
    "department": None,
    "manager": {"value", "$ref"},
}
GROUP_ATTRIBUTES: dict[str, set[str] | None] = {
    "displayName": None,
    "members": {"value", "$ref", "type"},
}


def _trim(schema: Schema, keep: dict[str, set[str] | None]) -> Schema:
    attributes = []
    for attribute in schema.attributes or []:
        if attribute.name not in keep:
            continue
        subs = keep[attribute.name]
        if subs is not None and attribute.sub_attributes:
            attribute.sub_attributes = [s for s in attribute.sub_attributes if s.name in subs]
        attributes.append(attribute)
    schema.attributes = attributes
    return schema


def _located(schema: Schema, base: str) -> Schema:
    schema.meta = Meta(resource_type="Schema", location=f"{base}/Schemas/{schema.id}")
    return schema


def schemas(base: str) -> list[Schema]:
    """Every schema this server serves, the three discovery ones included."""
    return [
        _located(_trim(User.to_schema(), USER_ATTRIBUTES), base),
        _located(_trim(EnterpriseUser.to_schema(), ENTERPRISE_ATTRIBUTES), base),
        _located(_trim(Group.to_schema(), GROUP_ATTRIBUTES), base),
        _located(ServiceProviderConfig.to_schema(), base),
        _located(ResourceType.to_schema(), base),
        _located(Schema.to_schema(), base),
    ]


def resource_types(base: str) -> list[ResourceType]:
    user = ResourceType.model_validate(
        {
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "People: a Baoxiao user and their employee record",
            "schema": str(User.__schema__),
            "schemaExtensions": [{"schema": str(EnterpriseUser.__schema__), "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
        }
    )
    group = ResourceType.model_validate(
        {
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Role groups: a displayName naming a role grants it to the members",
            "schema": str(Group.__schema__),
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"},
        }
    )
    return [user, group]


def service_provider_config(base: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme.model_validate(
                {
                    "type": "oauthbearertoken",
                    "name": "Bearer token",
                    "description": "A Baoxiao API token with the scim scope (an integrator's)",
                    "primary": True,
                }
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base}/ServiceProviderConfig"),
    )


def dump(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = obj.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return out
