"""Sessions in the window: *File → Save session…*, *Open session…* and *Recent*.

:meth:`Sessions.capture` takes what the window shows (model source and weights checksum, device, image,
target, shared layer and channel, current tab, every tool pane's :meth:`~cnnviz.gui.panes.tool_pane.ToolPane.settings`)
as a :class:`~cnnviz.core.files.session_file.Session`; :meth:`Sessions.restore` brings a window back to one:
it loads the session's model unless it is the current one (through the window's model loader, so a
download or an untrusted file asks as usual) and then sets the image, target, selection and tab, and
hands each pane its settings, applied once the pane has listed the model's layers. A session whose model
file is gone opens with a message and restores what it can on the current model (the bundled one if
there is none). ``restored(problems)`` follows, with {pane key: {setting: reason}} for what could not
be set. The Recent menu lists the last sessions and model files (when the window remembers).

What a pane saves is its :meth:`~cnnviz.gui.panes.tool_pane.ToolPane.settings`, split by
:func:`split_settings` into the fields of its analysis's ``Settings`` dataclass (the session's ``panes``; on
opening they are checked against the dataclass by :func:`checked_settings`, and each field dropped is named
in the problems) and its display-only values (``display``, passed unchecked). State that is a pane's but no
control's value travels in these settings through the pane's extra-settings hook
(:meth:`SettingsBinding.add_extra <cnnviz.gui.panes.parts.settings_binding.SettingsBinding.add_extra>`), as
``Settings`` fields where the analysis has them: the Deconvnet pane's unit (``channel``, ``row``, ``col``)
and the Dataset pane's scan layers (``layers``). The session also keeps the dataset the dataset tools work on
(reopened on the loader worker; a folder that is gone, or Fashion-MNIST where it is not installed, is named
in the problems under ``dataset``) and the report's figures (:meth:`ReportPane.items
<cnnviz.gui.panes.report.pane.ReportPane.items>`, replacing the report's when the session has them). Saving a
session, or opening one with a report, marks the report's figures saved
(:meth:`ReportPane.mark_saved <cnnviz.gui.panes.report.pane.ReportPane.mark_saved>`).
"""

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from cnnviz.analyses import registry
from cnnviz.core import settings as analysis_settings
from cnnviz.core.data import datasets
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.files.caption import cached_checksum
from cnnviz.core.files.session_file import (
    SUFFIX,
    DatasetSource,
    ModelSource,
    Session,
    read_session,
    session_path,
    write_session,
)
from cnnviz.core.model import models
from cnnviz.gui.app import settings
from cnnviz.gui.app.recent_menu import RecentMenu
from cnnviz.gui.app.session_consent import consent_question, resolved_model_path
from cnnviz.gui.panes.report.pane import ReportPane
from cnnviz.gui.panes.tool_pane import ToolPane
from cnnviz.gui.runtime import dataset_source, settings_store
from cnnviz.gui.runtime.model_spec import ModelSpec, model_file_exists
from cnnviz.gui.runtime.trusted_files import code_fingerprint, is_trusted, runs_code
from cnnviz.gui.widgets.dialogs import ChoiceDialog, show_error

if TYPE_CHECKING:
    from cnnviz.gui.app.main_window import MainWindow

FILE_FILTER = f"cnnviz session (*{SUFFIX})"
Problems = dict[str, dict[str, str]]


PANE_ANALYSES = {"dataset": "scan", "deconvnet": "deconv"}
"""Pane key -> the analysis whose settings the pane shows, where the names differ."""
DATASET_JOB = "dataset source"
"""What a restore waits for while the session's dataset opens (beside the pane keys)."""
PANE_DATASET = "dataset"
"""The pane setting naming the shared dataset (the Feature space pane's, for restarts); a session reopens its own
``dataset`` record instead, once."""


def settings_class(key: str) -> type | None:
    """The ``Settings`` dataclass of pane ``key``'s analysis (None: the pane has no analysis)."""
    name = PANE_ANALYSES.get(key, key)
    return registry.get(name).settings if name in registry.names() else None


def split_settings(key: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pane ``key``'s ``values`` (its :meth:`~cnnviz.gui.panes.tool_pane.ToolPane.settings`) as (the fields
    of its analysis's ``Settings``, its display-only values); a pane without an analysis has only the first."""
    cls = settings_class(key)
    if cls is None:
        return dict(values), {}
    fields = {entry.name for entry in analysis_settings.infos(cls)}
    return ({k: v for k, v in values.items() if k in fields}, {k: v for k, v in values.items() if k not in fields})


def checked_settings(key: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A session's settings of pane ``key``, checked against its analysis's ``Settings`` dataclass: the
    values kept and {name: reason} for each one dropped (a bad value; the pane keeps its own). Settings the
    dataclass does not have (the pane's own display controls) pass unchecked."""
    cls = settings_class(key)
    if cls is None:
        return dict(values), {}
    fields, _display = split_settings(key, values)
    _settings, dropped = analysis_settings.from_json(cls, fields)
    dropped.pop("*", None)
    return {k: v for k, v in values.items() if k not in dropped}, dropped


def dataset_record(ds: ImageDataset | None) -> DatasetSource | None:
    """The session's record of the dataset ``ds`` (None: none)."""
    if ds is None:
        return None
    if ds.kind == dataset_source.FASHION_MNIST:
        return DatasetSource("fashion-mnist")
    return DatasetSource("folder", str(ds.root))


def dataset_problem(source: DatasetSource) -> str:
    """Why the dataset ``source`` cannot be opened here ("" when it can be tried)."""
    if source.kind == "fashion-mnist":
        return "" if datasets.fashion_mnist_available() else "Fashion-MNIST is not installed here"
    if not source.path or not Path(source.path).is_dir():
        return f"the folder {source.path or '(none)'} no longer exists"
    return ""


def model_source(spec: ModelSpec | None, model: models.LoadedModel | None) -> ModelSource:
    """The session's record of the model loaded from ``spec`` (the bundled one for None)."""
    if spec is None:
        return ModelSource()
    return ModelSource(spec.source, spec.name, spec.pretrained, spec.arch,
                       cached_checksum(model) if model is not None else "")


def session_spec(source: ModelSource, device: str) -> ModelSpec:
    """The model spec that loads ``source`` on ``device`` (the CPU where ``device`` is not available)."""
    device = device if device in models.available_devices() else "cpu"
    if source.kind == "default":
        return ModelSpec(device=device)
    return ModelSpec(source.kind, source.name, pretrained=source.pretrained, arch=source.arch, device=device)


class Sessions(QObject):
    """The session actions and restoring of ``window``; see the module docstring."""

    restored = Signal(object)

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.state, self.controller = window.state, window.controller
        self.recent = RecentMenu(window, self.open)
        self._session: Session | None = None
        self._loading: ModelSpec | None = None
        self._waiting: set[str] = set()
        self._problems: Problems = {}
        self.question: ChoiceDialog | None = None
        """The open question whether to run the session's model code (:mod:`~cnnviz.gui.app.session_consent`)."""
        self.trust_code = False
        """True (``cnnviz --session FILE --trust``): a session's model code runs without a question."""
        window.model_loader.done.connect(self._model_loaded)
        self.state.model_changed.connect(lambda _model: self.recent.note_model(self.state.model_spec))

    @property
    def restoring(self) -> bool:
        """True from :meth:`restore` until every pane has its settings."""
        return self._session is not None

    def add_menu_entries(self, menu: QMenu) -> None:
        """Add Save session…, Open session… and the Recent submenu to ``menu`` (the File menu)."""
        for name, text, keys, slot in (("save_session", "Sa&ve session…", "Ctrl+Alt+S", self.ask_save),
                                       ("open_session", "Open sessio&n…", "Ctrl+Alt+O", self.ask_open)):
            action = QAction(text, self.window)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
            menu.addAction(action)
            self.window.menu_actions[name] = action
        self.recent.add_to(menu)

    def capture(self) -> Session:
        """What the window shows now, as a session."""
        state, window = self.state, self.window
        split = {key: split_settings(key, pane.settings()) for key, pane in window.panes.items()
                 if isinstance(pane, ToolPane)}
        report = window.panes.get("report")
        return Session(model=model_source(state.model_spec, state.model), device=state.device, image=state.image,
                       image_name=state.image_name, image_path=str(state.image_path or ""),
                       target=state.target, pinned=not self.controller.follows_top_prediction,
                       layer=state.layer, channel=state.channel, tab=window.current_tab(),
                       panes={key: values for key, (values, _display) in split.items()},
                       display={key: display for key, (_values, display) in split.items() if display},
                       dataset=dataset_record(state.dataset),
                       report=tuple(report.items()) if isinstance(report, ReportPane) else None)

    def save(self, path: str | Path) -> Path | None:
        """Save the session to ``path`` (``.cnnviz`` added if it has no suffix); errors are shown in a
        dialog (None)."""
        try:
            saved = write_session(path, self.capture())
        except (OSError, ValueError) as error:
            show_error(self.window, "Could not save the session", str(error))
            return None
        self.recent.add("session", saved)
        report = self.window.panes.get("report")
        if isinstance(report, ReportPane):
            report.mark_saved()
        self.window.show_status(f"Saved session {saved}")
        return saved

    def open(self, path: str | Path) -> bool:
        """Open the session file ``path`` (see :meth:`restore`); a file that cannot be read is
        shown in a dialog (False)."""
        path = Path(path)
        try:
            session = read_session(path)
        except (OSError, ValueError) as error:
            show_error(self.window, "Could not open the session", f"{path}: {error}")
            return False
        self.recent.add("session", path)
        self.restore(session, path.name, folder=path.resolve().parent)
        return True

    def restore(self, session: Session, name: str = "session", *, folder: Path | None = None) -> None:
        """Bring the window back to ``session`` (see the module docstring); a relative model path is taken
        relative to ``folder`` (the session file's). A model file whose loading runs code asks first
        (:meth:`_ask_to_run`)."""
        self._session, self._problems, self._waiting, self._name = session, {}, set(), name
        spec = session_spec(session.model, session.device)
        if spec.source == "file":
            spec = spec.with_changes(name=str(resolved_model_path(spec.name, folder)))
        if spec.source == "file" and not model_file_exists(spec.name):
            self._missing_model(spec)
        elif self._is_current(spec):
            self._restore_rest()
        elif spec.source == "file" and runs_code(spec.name) and not self.trust_code:
            self._ask_to_run(spec)
        else:
            self._load(spec)

    def _load(self, spec: ModelSpec) -> None:
        self._loading = spec
        self.window.model_loader.load(spec)

    def _ask_to_run(self, spec: ModelSpec) -> None:
        """Load ``spec`` (a file that runs code) when the user chose to run these contents before, else ask;
        without a yes, restore the rest on the current model."""
        try:
            print_ = code_fingerprint(spec.name)
        except OSError as error:
            self.window.show_status(f"{spec.name} cannot be read ({error}); restoring on the current model.")
            self._keep_current_model(spec)
            return
        if is_trusted(print_):
            self._load(spec)
            return
        self.question = consent_question(self.window, print_, self._name)
        self.question.chosen.connect(lambda key: self._answered(key, spec))
        self.question.open()

    def _answered(self, key: str, spec: ModelSpec) -> None:
        self.question = None
        if key == "run":
            self._load(spec)
        else:
            self._problems["model"] = {"": f"{spec.short_name} was not run (its code was not trusted); the rest is "
                                          "restored on the current model"}
            self._keep_current_model(spec)

    def _keep_current_model(self, spec: ModelSpec) -> None:
        if self.state.model is None:
            self._load(ModelSpec(device=spec.device))
        else:
            self._restore_rest()

    def ask_save(self) -> Path | None:
        """Ask for a file (in the folder of the last session) and save the session there."""
        start = str(self._folder() / f"cnnviz-session{SUFFIX}")
        path, _filter = QFileDialog.getSaveFileName(self.window, "Save session", start, FILE_FILTER)
        return self.save(session_path(path)) if path else None

    def ask_open(self) -> bool:
        """Ask for a session file (in the folder of the last session) and open it."""
        path, _filter = QFileDialog.getOpenFileName(self.window, "Open session", str(self._folder()),
                                                    f"{FILE_FILTER};;All files (*)")
        return self.open(path) if path else False

    def _folder(self) -> Path:
        recent = [path for kind, path in settings.load_recent() if kind == "session" and path.parent.is_dir()]
        return recent[0].parent if recent else settings_store.export_folder()

    def _is_current(self, spec: ModelSpec) -> bool:
        current = self.state.model_spec
        return (self.state.model is not None and current is not None and current.source == spec.source
                and current.name == spec.name and current.arch == spec.arch
                and (current.pretrained == spec.pretrained or spec.source != "zoo"))

    def _missing_model(self, spec: ModelSpec) -> None:
        model = self.state.model
        fallback = model.display_name if model is not None else "the bundled default model"
        QMessageBox.warning(self.window, "Model file not found",
                            f"The model file of this session no longer exists:\n{spec.name}\n\nThe image, "
                            f"target, tab and settings are restored where they apply, on {fallback}.")
        if model is None:
            self._loading = ModelSpec(device=spec.device)
            self.window.model_loader.load(self._loading)
        else:
            self._restore_rest()

    def _model_loaded(self, loaded: bool) -> None:
        if self._loading is None or self._session is None:
            return
        spec, self._loading = self._loading, None
        if not loaded:
            self.window.show_status(f"{spec.short_name} was not loaded; restoring the session on the current model.")
        self._check_weights()
        self._restore_rest()

    def _restore_rest(self) -> None:
        session, state, controller = self._session, self.state, self.controller
        assert session is not None
        if session.device != state.device and session.device in models.available_devices():
            controller.set_device(session.device)
        if session.image is not None:
            path = Path(session.image_path) if session.image_path else None
            controller.set_image(session.image, session.image_name or "session image",
                                 path if path is not None and path.is_file() else None)
        if session.pinned and session.target >= 0:
            controller.choose_target(session.target)
        elif not controller.follows_top_prediction:
            controller.follow_top_prediction()
        state.set_layer(session.layer)
        state.set_channel(session.channel)
        if session.tab:
            self.window.bring_to_front(session.tab)
        self._restore_report(session)
        self._restore_dataset(session.dataset)
        self._apply_panes(session)

    def _restore_report(self, session: Session) -> None:
        report = self.window.panes.get("report")
        if session.report is not None and isinstance(report, ReportPane):
            report.set_items(list(session.report), saved=True)

    def _restore_dataset(self, source: DatasetSource | None) -> None:
        """Open the session's dataset on the loader worker (unless it is the current one) and make it the
        shared dataset; a dataset that cannot be opened is named in the problems."""
        if source is None or dataset_record(self.state.dataset) == source:
            return
        problem = dataset_problem(source)
        if problem:
            self._problems.setdefault("dataset", {})[source.kind] = problem
            return
        kind = dataset_source.FASHION_MNIST if source.kind == "fashion-mnist" else dataset_source.FOLDER
        path = Path(source.path) if source.path else None
        self._waiting.add(DATASET_JOB)
        task = self.controller.loader.submit(dataset_source.open_source, kind, path, key="session dataset")
        task.succeeded.connect(self.state.set_dataset)
        task.failed.connect(lambda error: self._problems.setdefault("dataset", {}).update(
            {source.kind: f"could not open {source.path or 'Fashion-MNIST'}: {error}"}))
        task.finished.connect(partial(self._dataset_done, self._session))

    def _dataset_done(self, session: Session | None) -> None:
        if session is self._session:  # not a restore that another one replaced
            self._pane_done(DATASET_JOB, {})

    def _apply_panes(self, session: Session) -> None:
        for key, all_values in session.pane_values().items():
            pane = self.window.panes.get(key)
            values = {k: v for k, v in all_values.items() if k != PANE_DATASET}  # restored once, as the session's
            if isinstance(pane, ToolPane):
                kept, dropped = checked_settings(key, values)
                if dropped:
                    self._problems[key] = dropped
                self._waiting.add(key)
                pane.apply_settings_when_listed(kept, done=partial(self._pane_done, key))
            else:
                self._problems[key] = {"": "no such pane in this cnnviz"}
        if not self._waiting:
            self._finish()

    def _pane_done(self, key: str, problems: dict[str, str]) -> None:
        if problems:
            self._problems[key] = self._problems.get(key, {}) | problems
        self._waiting.discard(key)
        if not self._waiting and self._session is not None:
            self._finish()

    def _finish(self) -> None:
        self._session = None
        problems = self._problems
        lost = [f"{key} {name}: {reason}" if name else f"{key}: {reason}"
                for key, items in problems.items() for name, reason in items.items()]
        self.window.show_status(f"Opened session {self._name}" +
                                (f"; not restored: {'; '.join(lost)}" if lost else ""))
        self.restored.emit(problems)

    def _check_weights(self) -> None:
        session, model, spec = self._session, self.state.model, self.state.model_spec
        expected = session.model.checksum if session is not None else ""
        if model is None or spec is None or spec.source != "file" or not expected:
            return
        if cached_checksum(model) != expected:
            self.window.show_status(f"The weights in {Path(spec.name).name} differ from the session's "
                                    f"(checksum {cached_checksum(model)}, saved {expected}).")
