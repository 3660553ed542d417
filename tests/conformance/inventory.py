"""Every element of the seed reference, by section: the list the conformance checks walk.

Written from the seed (``../shared/seed/wandb-actions-reference.txt``): names, kinds, documented
parameters with their defaults (``R``: required; ``U``: documented in the ``Args:`` list but not
in the signature) and Settings field types; no prose. ``test_inventory.py`` parses the seed, when
it is present, and asserts this list holds exactly its elements, so the two cannot drift.

``owner`` names the issue that brings an element (16: media and plots; 17: ``watch``/``unwatch``,
``login`` and TensorBoard syncing; 18: sweeps): its checks land with that issue, in
``checks/``; until then it is counted as left to that issue. ``anchor`` marks an element whose
heading the seed's printable view dropped: those words must appear in its section instead.

Each documented parameter of a method or function is an element of its own (kind
``argument``, named ``<callable>.<parameter>``); :func:`elements` derives them.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.conformance.seed import REQUIRED as R
from tests.conformance.seed import UNSIGNED as U

KINDS = ("class", "method", "property", "function", "argument", "setting")


@dataclass(frozen=True)
class Element:
    section: str
    kind: str
    name: str
    params: tuple[tuple[str, str], ...] = ()
    #: Settings fields: the documented type.
    type: str = ""
    #: The issue that brings this element (None: this one, 15).
    owner: int | None = None
    anchor: tuple[str, ...] = ()
    #: Arguments: the documented default (``R``, ``U`` or its text).
    default: str = ""


E = Element

#: Arguments owned by a later issue although their callable is not.
ARGUMENT_OWNERS: dict[str, int] = {}

CALLABLES: tuple[Element, ...] = (
    # 1.1 Artifact
    E('1.1 Artifact', 'class', 'Artifact'),
    E('1.1 Artifact', 'method', 'Artifact.__init__', params=(
        ('name', R), ('type', R), ('description', 'None'), ('metadata', 'None'),
        ('incremental', 'False'), ('use_as', 'None'), ('is_link', U),
    )),
    E('1.1 Artifact', 'property', 'Artifact.aliases'),
    E('1.1 Artifact', 'property', 'Artifact.collection'),
    E('1.1 Artifact', 'property', 'Artifact.commit_hash'),
    E('1.1 Artifact', 'property', 'Artifact.created_at'),
    E('1.1 Artifact', 'property', 'Artifact.description'),
    E('1.1 Artifact', 'property', 'Artifact.digest'),
    E('1.1 Artifact', 'property', 'Artifact.distributed_id'),
    E('1.1 Artifact', 'property', 'Artifact.entity'),
    E('1.1 Artifact', 'property', 'Artifact.file_count'),
    E('1.1 Artifact', 'property', 'Artifact.history_step'),
    E('1.1 Artifact', 'property', 'Artifact.id'),
    E('1.1 Artifact', 'property', 'Artifact.incremental'),
    E('1.1 Artifact', 'property', 'Artifact.is_link'),
    E('1.1 Artifact', 'property', 'Artifact.linked_artifacts'),
    E('1.1 Artifact', 'property', 'Artifact.manifest'),
    E('1.1 Artifact', 'property', 'Artifact.metadata'),
    E('1.1 Artifact', 'property', 'Artifact.name'),
    E('1.1 Artifact', 'property', 'Artifact.project'),
    E('1.1 Artifact', 'property', 'Artifact.qualified_name'),
    E('1.1 Artifact', 'property', 'Artifact.size'),
    E('1.1 Artifact', 'property', 'Artifact.source_artifact'),
    E('1.1 Artifact', 'property', 'Artifact.source_collection'),
    E('1.1 Artifact', 'property', 'Artifact.source_entity'),
    E('1.1 Artifact', 'property', 'Artifact.source_name'),
    E('1.1 Artifact', 'property', 'Artifact.source_project'),
    E('1.1 Artifact', 'property', 'Artifact.source_qualified_name'),
    E('1.1 Artifact', 'property', 'Artifact.source_version'),
    E('1.1 Artifact', 'property', 'Artifact.state'),
    E('1.1 Artifact', 'property', 'Artifact.tags'),
    E('1.1 Artifact', 'property', 'Artifact.ttl'),
    E('1.1 Artifact', 'property', 'Artifact.type'),
    E('1.1 Artifact', 'property', 'Artifact.updated_at'),
    E('1.1 Artifact', 'property', 'Artifact.url'),
    E('1.1 Artifact', 'property', 'Artifact.use_as'),
    E('1.1 Artifact', 'property', 'Artifact.version'),
    E('1.1 Artifact', 'method', 'Artifact.add', params=(
        ('obj', R), ('name', R), ('overwrite', 'False'),
    )),
    E('1.1 Artifact', 'method', 'Artifact.add_dir', params=(
        ('local_path', R), ('name', 'None'), ('skip_cache', 'False'), ('policy', "'mutable'"),
        ('merge', 'False'),
    )),
    E('1.1 Artifact', 'method', 'Artifact.add_file', params=(
        ('local_path', R), ('name', 'None'), ('is_tmp', 'False'), ('skip_cache', 'False'),
        ('policy', "'mutable'"), ('overwrite', 'False'),
    )),
    E('1.1 Artifact', 'method', 'Artifact.add_reference', params=(
        ('uri', R), ('name', 'None'), ('checksum', 'True'), ('max_objects', 'None'),
    )),
    E('1.1 Artifact', 'method', 'Artifact.checkout', params=(('root', 'None'),)),
    E('1.1 Artifact', 'method', 'Artifact.delete', params=(('delete_aliases', 'False'),)),
    E('1.1 Artifact', 'method', 'Artifact.download', params=(
        ('root', 'None'), ('allow_missing_references', 'False'), ('skip_cache', 'None'),
        ('path_prefix', 'None'), ('multipart', 'None'),
    )),
    E('1.1 Artifact', 'method', 'Artifact.file', params=(('root', 'None'),)),
    E('1.1 Artifact', 'method', 'Artifact.files', params=(('names', 'None'), ('per_page', '50'),)),
    E('1.1 Artifact', 'method', 'Artifact.finalize'),
    E('1.1 Artifact', 'method', 'Artifact.get', params=(('name', R),)),
    E('1.1 Artifact', 'method', 'Artifact.get_added_local_path_name', params=(('local_path', R),)),
    E('1.1 Artifact', 'method', 'Artifact.get_entry', params=(('name', R),)),
    E('1.1 Artifact', 'method', 'Artifact.get_path', params=(('name', R),)),
    E('1.1 Artifact', 'method', 'Artifact.is_draft'),
    E('1.1 Artifact', 'method', 'Artifact.json_encode'),
    E('1.1 Artifact', 'method', 'Artifact.link', params=(('target_path', R), ('aliases', 'None'),)),
    E('1.1 Artifact', 'method', 'Artifact.logged_by'),
    E('1.1 Artifact', 'method', 'Artifact.new_draft'),
    E('1.1 Artifact', 'method', 'Artifact.new_file', params=(
        ('name', R), ('mode', "'x'"), ('encoding', 'None'),
    )),
    E('1.1 Artifact', 'method', 'Artifact.remove', params=(('item', R),)),
    E('1.1 Artifact', 'method', 'Artifact.save', params=(
        ('project', 'None'), ('settings', 'None'),
    )),
    E('1.1 Artifact', 'method', 'Artifact.unlink'),
    E('1.1 Artifact', 'method', 'Artifact.used_by'),
    E('1.1 Artifact', 'method', 'Artifact.verify', params=(('root', 'None'),)),
    E('1.1 Artifact', 'method', 'Artifact.wait', params=(('timeout', 'None'),)),
    # 1.2 ArtifactTTL
    E('1.2 ArtifactTTL', 'class', 'ArtifactTTL'),
    # 1.3 Error
    E('1.3 Error', 'class', 'Error'),
    E('1.3 Error', 'method', 'Error.__init__', params=(('message', R), ('context', 'None'),)),
    # 1.4 Run
    E('1.4 Run', 'class', 'Run'),
    E('1.4 Run', 'method', 'Run.__init__', params=(
        ('settings', R), ('config', 'None'), ('sweep_config', 'None'), ('launch_config', 'None'),
    )),
    E('1.4 Run', 'property', 'Run.config'),
    E('1.4 Run', 'property', 'Run.config_static'),
    E('1.4 Run', 'property', 'Run.dir'),
    E('1.4 Run', 'property', 'Run.disabled'),
    E('1.4 Run', 'property', 'Run.entity'),
    E('1.4 Run', 'property', 'Run.group'),
    E('1.4 Run', 'property', 'Run.id'),
    E('1.4 Run', 'property', 'Run.job_type'),
    E('1.4 Run', 'property', 'Run.name'),
    E('1.4 Run', 'property', 'Run.notes'),
    E('1.4 Run', 'property', 'Run.offline'),
    E('1.4 Run', 'property', 'Run.path'),
    E('1.4 Run', 'property', 'Run.project'),
    E('1.4 Run', 'property', 'Run.project_url'),
    E('1.4 Run', 'property', 'Run.resumed'),
    E('1.4 Run', 'property', 'Run.settings'),
    E('1.4 Run', 'property', 'Run.start_time'),
    E('1.4 Run', 'property', 'Run.starting_step'),
    E('1.4 Run', 'property', 'Run.step'),
    E('1.4 Run', 'property', 'Run.sweep_id'),
    E('1.4 Run', 'property', 'Run.sweep_url'),
    E('1.4 Run', 'property', 'Run.tags'),
    E('1.4 Run', 'property', 'Run.url'),
    E('1.4 Run', 'method', 'Run.alert', params=(
        ('title', R), ('text', R), ('level', 'None'), ('wait_duration', 'None'),
    )),
    E('1.4 Run', 'method', 'Run.define_metric', params=(
        ('name', R), ('step_metric', 'None'), ('step_sync', 'None'), ('hidden', 'None'),
        ('summary', 'None'), ('goal', 'None'), ('overwrite', 'None'),
    )),
    E('1.4 Run', 'method', 'Run.display', params=(('height', '420'), ('hidden', 'False'),)),
    E('1.4 Run', 'method', 'Run.finish', params=(('exit_code', 'None'), ('quiet', 'None'),)),
    E('1.4 Run', 'method', 'Run.finish_artifact', params=(
        ('artifact_or_path', R), ('name', 'None'), ('type', 'None'), ('aliases', 'None'),
        ('distributed_id', 'None'),
    )),
    E('1.4 Run', 'method', 'Run.get_project_url'),
    E('1.4 Run', 'method', 'Run.get_sweep_url'),
    E('1.4 Run', 'method', 'Run.get_url'),
    E('1.4 Run', 'method', 'Run.link_artifact', params=(
        ('artifact', R), ('target_path', R), ('aliases', 'None'),
    )),
    E('1.4 Run', 'method', 'Run.link_model', params=(
        ('path', R), ('registered_model_name', R), ('name', 'None'), ('aliases', 'None'),
    )),
    E('1.4 Run', 'method', 'Run.log', params=(
        ('data', R), ('step', 'None'), ('commit', 'None'), ('sync', U),
    )),
    E('1.4 Run', 'method', 'Run.log_artifact', params=(
        ('artifact_or_path', R), ('name', 'None'), ('type', 'None'), ('aliases', 'None'),
        ('tags', 'None'),
    )),
    E('1.4 Run', 'method', 'Run.log_code', params=(
        ('root', "'.'"), ('name', 'None'),
        ('include_fn', '<function _is_py_requirements_or_dockerfile>'),
        ('exclude_fn', '<function exclude_wandb_fn>'),
    )),
    E('1.4 Run', 'method', 'Run.log_model', params=(
        ('path', R), ('name', 'None'), ('aliases', 'None'),
    )),
    E('1.4 Run', 'method', 'Run.mark_preempting'),
    E('1.4 Run', 'method', 'Run.project_name'),
    E('1.4 Run', 'method', 'Run.restore', params=(
        ('name', R), ('run_path', 'None'), ('replace', 'False'), ('root', 'None'),
    )),
    E('1.4 Run', 'method', 'Run.save', params=(
        ('glob_str', R), ('base_path', 'None'), ('policy', "'live'"),
    )),
    E('1.4 Run', 'method', 'Run.status'),
    E('1.4 Run', 'method', 'Run.to_html', params=(('height', '420'), ('hidden', 'False'),)),
    E('1.4 Run', 'method', 'Run.unwatch', params=(('models', 'None'),)),
    E('1.4 Run', 'method', 'Run.upsert_artifact', params=(
        ('artifact_or_path', R), ('name', 'None'), ('type', 'None'), ('aliases', 'None'),
        ('distributed_id', 'None'),
    )),
    E('1.4 Run', 'method', 'Run.use_artifact', params=(
        ('artifact_or_name', R), ('type', 'None'), ('aliases', 'None'), ('use_as', 'None'),
    )),
    E('1.4 Run', 'method', 'Run.use_model', params=(('name', R),)),
    E('1.4 Run', 'method', 'Run.watch', params=(
        ('models', R), ('criterion', 'None'), ('log', "'gradients'"), ('log_freq', '1000'),
        ('idx', 'None'), ('log_graph', 'False'),
    )),
    # 1.5 Settings
    E('1.5 Settings', 'class', 'Settings'),
    E('1.5 Settings', 'setting', 'Settings.allow_offline_artifacts', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.allow_val_change', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.anonymous',
      type='Optional[Literal["allow", "must", "never"]]'),
    E('1.5 Settings', 'setting', 'Settings.api_key', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.azure_account_url_to_access_key',
      type='Optional[Dict[str, str]]'),
    E('1.5 Settings', 'setting', 'Settings.base_url', type='str'),
    E('1.5 Settings', 'setting', 'Settings.code_dir', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.config_paths', type='Optional[Sequence[str]]'),
    E('1.5 Settings', 'setting', 'Settings.console',
      type='Literal["auto", "off", "wrap", "redirect", "wrap_raw", "wrap_emu"]'),
    E('1.5 Settings', 'setting', 'Settings.console_multipart', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.credentials_file', type='str'),
    E('1.5 Settings', 'setting', 'Settings.disable_code', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.disable_git', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.disable_job_creation', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.docker', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.email', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.entity', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.organization', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.force', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.fork_from', type='Optional[RunMoment]'),
    E('1.5 Settings', 'setting', 'Settings.git_commit', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.git_remote', type='str'),
    E('1.5 Settings', 'setting', 'Settings.git_remote_url', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.git_root', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.heartbeat_seconds', type='int'),
    E('1.5 Settings', 'setting', 'Settings.host', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.http_proxy', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.https_proxy', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.identity_token_file', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.ignore_globs', type='Sequence[str]'),
    E('1.5 Settings', 'setting', 'Settings.init_timeout', type='float'),
    E('1.5 Settings', 'setting', 'Settings.insecure_disable_ssl', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.job_name', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.job_source',
      type='Optional[Literal["repo", "artifact", "image"]]'),
    E('1.5 Settings', 'setting', 'Settings.label_disable', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.launch', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.launch_config_path', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.login_timeout', type='Optional[float]'),
    E('1.5 Settings', 'setting', 'Settings.mode',
      type='Literal["online", "offline", "dryrun", "disabled", "run", "shared"]'),
    E('1.5 Settings', 'setting', 'Settings.notebook_name', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.program', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.program_abspath', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.program_relpath', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.project', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.quiet', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.reinit',
      type='Union[Literal["default", "return_previous", "finish_previous", "create_new"], bool]'),
    E('1.5 Settings', 'setting', 'Settings.relogin', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.resume',
      type='Optional[Literal["allow", "must", "never", "auto"]]'),
    E('1.5 Settings', 'setting', 'Settings.resume_from', type='Optional[RunMoment]'),
    E('1.5 Settings', 'setting', 'Settings.resumed', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.root_dir', type='str'),
    E('1.5 Settings', 'setting', 'Settings.run_group', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.run_id', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.run_job_type', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.run_name', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.run_notes', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.run_tags', type='Optional[Tuple[str, …]]'),
    E('1.5 Settings', 'setting', 'Settings.sagemaker_disable', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.save_code', type='Optional[bool]'),
    E('1.5 Settings', 'setting', 'Settings.settings_system', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.show_colors', type='Optional[bool]'),
    E('1.5 Settings', 'setting', 'Settings.show_emoji', type='Optional[bool]'),
    E('1.5 Settings', 'setting', 'Settings.show_errors', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.show_info', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.show_warnings', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.silent', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.start_method', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.strict', type='Optional[bool]'),
    E('1.5 Settings', 'setting', 'Settings.summary_timeout', type='int'),
    E('1.5 Settings', 'setting', 'Settings.summary_warnings', type='int'),
    E('1.5 Settings', 'setting', 'Settings.sweep_id', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.sweep_param_path', type='Optional[str]'),
    E('1.5 Settings', 'setting', 'Settings.symlink', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.sync_tensorboard', type='Optional[bool]'),
    E('1.5 Settings', 'setting', 'Settings.table_raise_on_max_row_limit_exceeded', type='bool'),
    E('1.5 Settings', 'setting', 'Settings.username', type='Optional[str]'),
    E('1.5 Settings', 'property', 'Settings.colab_url'),
    E('1.5 Settings', 'property', 'Settings.deployment'),
    E('1.5 Settings', 'property', 'Settings.files_dir'),
    E('1.5 Settings', 'property', 'Settings.is_local'),
    E('1.5 Settings', 'property', 'Settings.log_dir'),
    E('1.5 Settings', 'property', 'Settings.log_symlink_internal',
      anchor=('symlink', 'internal log')),
    E('1.5 Settings', 'property', 'Settings.log_symlink_user',
      anchor=('symlink', 'user-process log')),
    E('1.5 Settings', 'property', 'Settings.log_internal'),
    E('1.5 Settings', 'property', 'Settings.log_user'),
    E('1.5 Settings', 'property', 'Settings.model_extra'),
    E('1.5 Settings', 'property', 'Settings.model_fields_set'),
    E('1.5 Settings', 'property', 'Settings.project_url'),
    E('1.5 Settings', 'property', 'Settings.resume_fname'),
    E('1.5 Settings', 'property', 'Settings.run_mode'),
    E('1.5 Settings', 'property', 'Settings.run_url'),
    E('1.5 Settings', 'property', 'Settings.settings_workspace'),
    E('1.5 Settings', 'property', 'Settings.sweep_url'),
    E('1.5 Settings', 'property', 'Settings.sync_dir'),
    E('1.5 Settings', 'property', 'Settings.sync_file'),
    E('1.5 Settings', 'property', 'Settings.sync_symlink_latest',
      anchor=('symlink', 'transaction log')),
    E('1.5 Settings', 'property', 'Settings.timespec'),
    E('1.5 Settings', 'property', 'Settings.wandb_dir'),
    E('1.5 Settings', 'method', 'Settings.catch_private_settings'),
    E('1.5 Settings', 'method', 'Settings.update_from_dict', params=(('settings', R),)),
    # 2.1 agent
    E('2.1 agent', 'function', 'wandb.agent', params=(
        ('sweep_id', R), ('function', 'None'), ('entity', 'None'), ('project', 'None'),
        ('count', 'None'),
    ), owner=18),
    # 2.2 controller
    E('2.2 controller', 'function', 'wandb.controller', params=(
        ('sweep_id_or_config', 'None'), ('entity', 'None'), ('project', 'None'),
    ), owner=18),
    # 2.3 finish
    E('2.3 finish', 'function', 'wandb.finish', params=(('exit_code', 'None'), ('quiet', 'None'),)),
    # 2.4 init
    E('2.4 init', 'function', 'wandb.init', params=(
        ('entity', 'None'), ('project', 'None'), ('dir', 'None'), ('id', 'None'), ('name', 'None'),
        ('notes', 'None'), ('tags', 'None'), ('config', 'None'), ('config_exclude_keys', 'None'),
        ('config_include_keys', 'None'), ('allow_val_change', 'None'), ('group', 'None'),
        ('job_type', 'None'), ('mode', 'None'), ('force', 'None'), ('anonymous', 'None'),
        ('reinit', 'None'), ('resume', 'None'), ('resume_from', 'None'), ('fork_from', 'None'),
        ('save_code', 'None'), ('tensorboard', 'None'), ('sync_tensorboard', 'None'),
        ('monitor_gym', 'None'), ('settings', 'None'),
    )),
    # 2.5 login
    E('2.5 login', 'function', 'wandb.login', params=(
        ('anonymous', 'None'), ('key', 'None'), ('relogin', 'None'), ('host', 'None'),
        ('force', 'None'), ('timeout', 'None'), ('verify', 'False'), ('referrer', 'None'),
    )),
    # 2.6 restore
    E('2.6 restore', 'function', 'wandb.restore', params=(
        ('name', R), ('run_path', 'None'), ('replace', 'False'), ('root', 'None'),
    )),
    # 2.7 setup
    E('2.7 setup', 'function', 'wandb.setup', params=(('settings', 'None'),)),
    # 2.8 sweep
    E('2.8 sweep', 'function', 'wandb.sweep', params=(
        ('sweep', R), ('entity', 'None'), ('project', 'None'), ('prior_runs', 'None'),
    ), owner=18),
    # 2.9 teardown
    E('2.9 teardown', 'function', 'wandb.teardown', params=(('exit_code', 'None'),)),
    # 3.1 define_metric
    E('3.1 define_metric', 'function', 'wandb.define_metric', params=(
        ('name', R), ('step_metric', 'None'), ('step_sync', 'None'), ('hidden', 'None'),
        ('summary', 'None'), ('goal', 'None'), ('overwrite', 'None'),
    )),
    # 3.2 link_model
    E('3.2 link_model', 'function', 'wandb.link_model', params=(
        ('path', R), ('registered_model_name', R), ('name', 'None'), ('aliases', 'None'),
    )),
    # 3.3 log_artifact
    E('3.3 log_artifact', 'function', 'wandb.log_artifact', params=(
        ('artifact_or_path', R), ('name', 'None'), ('type', 'None'), ('aliases', 'None'),
        ('tags', 'None'),
    )),
    # 3.4 log_model
    E('3.4 log_model', 'function', 'wandb.log_model', params=(
        ('path', R), ('name', 'None'), ('aliases', 'None'),
    )),
    # 3.5 log
    E('3.5 log', 'function', 'wandb.log', params=(
        ('data', R), ('step', 'None'), ('commit', 'None'), ('sync', U),
    )),
    # 3.6 save
    E('3.6 save', 'function', 'wandb.save', params=(
        ('glob_str', R), ('base_path', 'None'), ('policy', "'live'"),
    )),
    # 3.7 unwatch
    E('3.7 unwatch', 'function', 'wandb.unwatch', params=(('models', 'None'),)),
    # 3.8 use_artifact
    E('3.8 use_artifact', 'function', 'wandb.use_artifact', params=(
        ('artifact_or_name', R), ('type', 'None'), ('aliases', 'None'), ('use_as', 'None'),
    )),
    # 3.9 use_model
    E('3.9 use_model', 'function', 'wandb.use_model', params=(('name', R),)),
    # 3.10 watch
    E('3.10 watch', 'function', 'wandb.watch', params=(
        ('models', R), ('criterion', 'None'), ('log', "'gradients'"), ('log_freq', '1000'),
        ('idx', 'None'), ('log_graph', 'False'),
    )),
)


def elements() -> list[Element]:
    """Every element, arguments included, in the seed's order."""
    out: list[Element] = []
    for e in CALLABLES:
        out.append(e)
        for param, default in e.params:
            name = f"{e.name}.{param}"
            owner = ARGUMENT_OWNERS.get(name, e.owner)
            out.append(Element(e.section, "argument", name, owner=owner, default=default))
    return out


def by_name() -> dict[str, Element]:
    return {e.name: e for e in elements()}
