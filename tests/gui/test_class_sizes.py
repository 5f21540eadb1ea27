"""No GUI class carries more than :data:`MOST_METHODS` methods of its own: a class that grows beyond it is split
into composed parts (as :mod:`cnnviz.gui.panes.parts` splits the tool panes).

A class's own methods are the functions, static and class methods and properties in its ``vars()`` (inherited
ones are the base's). :data:`ALLOWED` lists the classes still above the limit with their counts today; a class
may not grow, and its entry goes once it is at or below the limit, so the list only shrinks.
"""

import functools
import importlib
import inspect
import pkgutil

import cnnviz.gui

MOST_METHODS = 25

ALLOWED = {
}
"""Classes above :data:`MOST_METHODS`, by qualified name, with their counts (to be reduced, never raised)."""

METHOD_TYPES = (staticmethod, classmethod, property, functools.cached_property)


def own_methods(cls: type) -> int:
    """How many methods (functions, static and class methods, properties) ``cls`` defines itself."""
    return sum(inspect.isfunction(value) or isinstance(value, METHOD_TYPES) for value in vars(cls).values())


def gui_classes() -> dict[str, type]:
    """Every class defined at the top level of a module of :mod:`cnnviz.gui`, by qualified name."""
    classes = {}
    for module_info in pkgutil.walk_packages(cnnviz.gui.__path__, "cnnviz.gui."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if inspect.isclass(value) and value.__module__ == module.__name__:
                classes[f"{module.__name__}.{value.__qualname__}"] = value
    return classes


def test_no_gui_class_has_more_methods_than_the_limit():
    counts = {name: own_methods(cls) for name, cls in gui_classes().items()}
    assert len(counts) > 100 and counts["cnnviz.gui.panes.tool_pane.ToolPane"] <= MOST_METHODS
    too_big = {name: n for name, n in counts.items() if n > ALLOWED.get(name, MOST_METHODS)}
    assert not too_big, f"split these classes into parts (at most {MOST_METHODS} methods each): {too_big}"
    gone = {name: counts.get(name) for name in ALLOWED if counts.get(name, 0) <= MOST_METHODS}
    assert not gone, f"remove these classes from ALLOWED, they are within the limit now: {gone}"
    shrunk = {name: counts[name] for name, allowed in ALLOWED.items() if MOST_METHODS < counts.get(name, 0) < allowed}
    assert not shrunk, f"lower these classes' counts in ALLOWED to what they are now: {shrunk}"


def test_own_methods_counts_functions_and_properties_but_not_inherited_ones():
    class Base:
        def inherited(self) -> None: ...

    class Counted(Base):
        size = 3

        def method(self) -> None: ...

        @property
        def value(self) -> int:
            return 1

        @staticmethod
        def helper() -> None: ...

    assert own_methods(Base) == 1 and own_methods(Counted) == 3
