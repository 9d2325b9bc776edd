"""CEL conditions: compiled once, evaluated against plain facts, never Python eval.

The library is `common-expression-language` (Rust cel-interpreter bindings):
compiling checks syntax, and `Program.variables()` lets publishing refuse a
condition that names a variable no facts provider supplies.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cel

# Top-level CEL variables the built-in provider fills; providers add more (facts.py).
BUILTIN_VARIABLES = frozenset({"claim", "claimant", "lines", "policy", "budget"})


class ConditionError(Exception):
    """A condition does not compile, names an unknown variable, or fails to evaluate."""


@dataclass(frozen=True)
class Condition:
    source: str
    program: Any
    variables: frozenset[str]

    def evaluate(self, activation: dict[str, Any]) -> bool:
        try:
            result = self.program.execute(activation)
        except Exception as exc:  # the binding raises KeyError, RuntimeError, TypeError...
            raise ConditionError(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(result, bool):
            raise ConditionError(f"the condition gave {type(result).__name__}, not a boolean")
        return result

    @property
    def constant(self) -> bool | None:
        """The value of a condition that names no variable, else None."""
        if self.variables:
            return None
        try:
            return self.evaluate({})
        except ConditionError:
            return None


@lru_cache(maxsize=4096)
def compile_condition(source: str) -> Condition:
    """Compile once per distinct source text (the cache makes route resolution cheap)."""
    try:
        program = cel.compile(source)
    except Exception as exc:
        raise ConditionError(str(exc).strip().splitlines()[0][:300]) from exc
    return Condition(source, program, frozenset(program.variables()))


def check_variables(condition: Condition, known: frozenset[str]) -> None:
    unknown = sorted(condition.variables - known)
    if unknown:
        raise ConditionError(
            f"unknown variable(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
