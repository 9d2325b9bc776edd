"""Static files of the web app (vendored htmx, Pico CSS, ECharts and our own CSS/JS)."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles


def install(app: FastAPI) -> None:
    folder = str(resources.files("baoxiao.web").joinpath("static"))
    app.mount("/static", StaticFiles(directory=folder), name="static")
