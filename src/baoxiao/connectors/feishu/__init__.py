"""Feishu / Lark: native approval (v4), external approval (三方审批), events, login, org."""
