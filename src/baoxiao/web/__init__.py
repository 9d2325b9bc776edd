"""The web app's shared parts: layout templates, static files, i18n and formatting.

Pages live in each domain's web.py and templates/<domain>/; they render through
`baoxiao.web.pages.render` and run on `baoxiao.web.pages.PageRoute`.
"""
