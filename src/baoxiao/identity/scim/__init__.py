"""SCIM 2.0 (RFC 7643/7644) provisioning at /scim/v2, built on scim2-models.

Users are Baoxiao users with their employee record; Groups are role groups:
a group whose displayName names a role gives its members that role in the
company (guide/admin.md has the mapping).
"""
