"""A local Feishu (Lark) Open Platform simulator, written from the published protocol.

Run it on its own: `python -m tests.tools.feishu_sim --port 0 --seed org.yaml`; it prints
`FEISHU_SIM_URL=http://127.0.0.1:<port>` once it listens. See docs/guide/connectors/feishu.md.
"""
