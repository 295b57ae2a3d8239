//! From files to runnable plans: RON reading with locations, overrides, validation, and the
//! list of parameter points (variants × sweep grid) an experiment asks for.

pub mod bounds;
mod build;
pub mod de;
pub mod nodes;
pub mod overrides;
mod points;
pub mod spec;
pub mod syntax;
mod trace;
mod warnings;

use crate::components::ActorConfig;
use de::Error;
use points::{apply, overrides_of, sweep_of, variants_of, Override};
use std::fmt;
use std::path::{Path, PathBuf};
use syntax::{Kind, Node, Span};

pub use spec::{Limits, Settings, StopWhen};

/// An error ready to print: where (when known) and what.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub location: Option<String>,
    pub message: String,
    /// Further problems found in the same pass, each printed on its own line.
    pub also: Vec<Problem>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(l) => write!(f, "{l}: {}", self.message)?,
            None => f.write_str(&self.message)?,
        }
        for p in &self.also {
            write!(f, "\n{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl Problem {
    pub fn plain(message: impl Into<String>) -> Self {
        Problem {
            location: None,
            message: message.into(),
            also: Vec::new(),
        }
    }
}

/// The texts values come from (files and command-line arguments), for naming locations.
#[derive(Clone, Default, Debug)]
struct Sources {
    names: Vec<(String, bool)>,
}

impl Sources {
    fn add(&mut self, name: String, is_file: bool) -> u32 {
        self.names.push((name, is_file));
        (self.names.len() - 1) as u32
    }

    fn locate(&self, span: Span) -> String {
        match self.names.get(span.source as usize) {
            Some((name, true)) => format!("{name}:{}:{}", span.line, span.col),
            Some((name, false)) => format!("{name} (column {})", span.col),
            None => "?".into(),
        }
    }

    fn problem(&self, e: Error) -> Problem {
        Problem {
            location: e.span.map(|s| self.locate(s)),
            message: e.message,
            also: e.also.into_iter().map(|e| self.problem(e)).collect(),
        }
    }

    fn parse(&mut self, text: &str, name: String, is_file: bool) -> Result<Node, Problem> {
        let id = self.add(name, is_file);
        syntax::parse(text, id).map_err(|e| self.problem(Error::at(e.span, e.message)))
    }

    /// Reads and parses a file; `named_at` is where another file names it, for errors that
    /// have no place inside it (a folder, an unreadable file).
    fn read(&mut self, path: &Path, named_at: Option<Span>) -> Result<Node, Problem> {
        let name = path.display().to_string();
        let text = crate::files::read_text(path).map_err(|e| match (e.at, named_at) {
            (Some((line, col)), _) => Problem {
                location: Some(format!("{name}:{line}:{col}")),
                message: e
                    .message
                    .trim_start_matches(&format!("{name}: "))
                    .to_string(),
                also: Vec::new(),
            },
            (None, Some(span)) => self.problem(Error::at(span, e.message)),
            (None, None) => Problem::plain(e.message),
        })?;
        self.parse(&text, name, true)
    }
}

/// Changes asked for on the command line.
#[derive(Clone, Debug, Default)]
pub struct CommandLine {
    /// `PATH=VALUE` overrides, applied after everything in the file.
    pub set: Vec<String>,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    /// Use the experiment's `quick` profile, if it has one.
    pub quick: bool,
}

/// A swept or searched value, resolved from the file: what result files show for a point.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    /// Any other value (an enum, a struct, a list), as its RON text.
    Ron(String),
}

impl Param {
    /// The value a file wrote.
    pub fn of(n: &Node) -> Param {
        match &n.kind {
            Kind::Int(i) => Param::Int(*i),
            Kind::Float(x) => Param::Float(*x),
            Kind::Str(s) => Param::Str(s.clone()),
            Kind::Bool(b) => Param::Bool(*b),
            _ => Param::Ron(n.to_string()),
        }
    }
}

/// As RON, like the value written in the file.
///
/// ```
/// use scalesim::model::Param;
///
/// assert_eq!(Param::Float(100.0).to_string(), "100.0");
/// assert_eq!(Param::Str("large".into()).to_string(), "\"large\"");
/// ```
impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Param::Int(i) => write!(f, "{i}"),
            Param::Float(x) => write!(f, "{x:?}"),
            Param::Str(s) => write!(f, "{s:?}"),
            Param::Bool(b) => write!(f, "{b}"),
            Param::Ron(text) => f.write_str(text),
        }
    }
}

/// One parameter point: a variant and sweep values, with the model they produce.
#[derive(Clone, Debug)]
pub struct Point {
    pub variant: String,
    /// The sweep values of this point, in the order of the experiment's `sweep`.
    pub params: Vec<(String, Param)>,
    pub actors: Vec<(String, ActorConfig)>,
}

/// A loaded, validated experiment: everything needed to run it.
#[derive(Clone, Debug)]
pub struct Plan {
    pub name: String,
    pub file: PathBuf,
    pub settings: Settings,
    pub sweep_paths: Vec<String>,
    pub points: Vec<Point>,
    /// Record a time series in every run, not only in each point's first (searches that
    /// judge every run by its last minutes).
    pub series_for_every_run: bool,
    /// The experiment's `plan:` block, unread: `scalesim plan` searches it.
    pub question: Option<Node>,
    pub builder: Builder,
    /// What makes the model run but mean little (no client, a fault after the end), found
    /// at load: reported with the run's own warnings, on stdout and in summary.json.
    pub warnings: Vec<String>,
    /// The comment the file opens with, without its `//`: the report's introduction.
    pub introduction: String,
}

/// The comment a file opens with: its `//` lines up to the first line of anything else,
/// markers stripped, a `//` line alone kept as an empty line (a paragraph break).
///
/// ```
/// let text = "// One service.\n//\n// Two workers.\nExperiment(\n// not this\n";
/// assert_eq!(scalesim::model::introduction_of(text), "One service.\n\nTwo workers.");
/// ```
pub fn introduction_of(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| l.starts_with("//"))
        .map(|l| {
            let l = l.trim_start_matches('/');
            l.strip_prefix(' ').unwrap_or(l).trim_end()
        })
        .collect();
    lines.join("\n").trim().to_string()
}

/// Experiment settings that `--set` may change; every other path names a model field.
const SETTINGS: [&str; 10] = [
    "quick",
    "bucket",
    "duration",
    "warmup",
    "seed",
    "replications",
    "limits",
    "description",
    "baseline",
    "stop_when",
];

/// Loads, overrides and validates an experiment file.
pub fn load_experiment(path: &Path, cli: &CommandLine) -> Result<Plan, Problem> {
    let mut sources = Sources::default();
    let mut root = sources.read(path, None)?;
    let fail = |sources: &Sources, e: Error| sources.problem(e);
    match &root.kind {
        Kind::Struct(Some(n), _) if n == "Model" => {
            return Err(fail(
                &sources,
                Error::at(
                    root.span,
                    "this is a model file; run an experiment that names it with `model: \"...\"`",
                ),
            ))
        }
        Kind::Struct(..) => {}
        _ => {
            return Err(fail(
                &sources,
                Error::at(
                    root.span,
                    format!("expected `Experiment(...)`, found {}", root.describe()),
                ),
            ))
        }
    }

    // The parts of the experiment that act on the model tree.
    let model_field = root.take_field("model");
    let set_field = root.take_field("set");
    let variants_field = root.take_field("variants");
    let sweep_field = root.take_field("sweep");
    let plan_field = root.take_field("plan");

    let mut cli_set = Vec::new();
    for arg in &cli.set {
        let Some((p, v)) = arg.split_once('=') else {
            return Err(Problem::plain(format!(
                "--set {arg}: expected PATH=VALUE, like --set app.replicas=4"
            )));
        };
        // A bare word that is not RON (`--set duration=100s`) is taken as a string, so the
        // shell's quoting does not have to preserve RON's quotes.
        let name = format!("--set {arg}");
        let bare =
            !v.trim().is_empty() && !v.contains(['(', ')', '[', ']', '{', '}', ',', ':', '"', ' ']);
        let value = match sources.parse(v, name.clone(), false) {
            Err(_) if bare => {
                let id = sources.add(name, false);
                Node::new(
                    Span {
                        source: id,
                        line: 1,
                        col: 1,
                    },
                    Kind::Str(v.to_string()),
                )
            }
            r => r?,
        };
        cli_set.push(Override {
            path: p.trim().to_string(),
            span: value.span,
            value,
        });
    }

    // Overrides of experiment settings (`--set duration="1m"`) act on the experiment itself.
    let (settings_set, cli_set): (Vec<Override>, Vec<Override>) = cli_set
        .into_iter()
        .partition(|o| SETTINGS.contains(&o.path.split('.').next().unwrap_or("")));
    for o in &settings_set {
        let segments: Vec<String> = o.path.split('.').map(|s| s.trim().to_string()).collect();
        overrides::set_path(&mut root, &segments, o.value.clone()).map_err(|m| {
            sources.problem(Error::at(
                o.span,
                format!("cannot apply override `{}`: {m}", o.path),
            ))
        })?;
    }

    let mut settings: Settings = de::from_node(&root).map_err(|e| fail(&sources, e))?;
    // The command line's seed and replications win over the file and its quick profile.
    let with_cli = |mut s: Settings| {
        s.seed = cli.seed.unwrap_or(s.seed);
        s.replications = cli.replications.unwrap_or(s.replications);
        s
    };
    if let Some(q) = settings.quick {
        // The quick profile is checked whether or not this load uses it: `validate` and
        // `run` refuse what `check --quick` would. The settings first, so that their own
        // errors are not blamed on the profile.
        check_settings(&with_cli(settings.clone()), &root).map_err(|e| fail(&sources, e))?;
        let mut quick = settings.clone();
        quick.duration = q.duration.unwrap_or(settings.duration);
        quick.warmup = q.warmup.unwrap_or(settings.warmup);
        quick.replications = q.replications.unwrap_or(settings.replications);
        let quick = with_cli(quick);
        check_settings(&quick, &root).map_err(|e| {
            fail(
                &sources,
                Error::at(
                    overrides::locate(&root, &["quick"]).span,
                    format!("the quick profile: {}", e.message),
                ),
            )
        })?;
        if cli.quick {
            settings = quick;
        }
    }
    let settings = with_cli(settings);
    check_settings(&settings, &root).map_err(|e| fail(&sources, e))?;

    let Some(model_field) = model_field else {
        return Err(fail(
            &sources,
            Error::at(
                root.span,
                "missing field `model`: name a model file (`model: \"../models/x.ron\"`) or embed `Model(...)`",
            ),
        ));
    };
    let model_tree = match &model_field.value.kind {
        Kind::Str(rel) if rel.trim().is_empty() => {
            return Err(fail(
                &sources,
                Error::at(
                    model_field.value.span,
                    "`model` is empty: name a model file (`model: \"../models/x.ron\"`) or embed `Model(...)`",
                ),
            ))
        }
        Kind::Str(rel) => {
            let base = path.parent().unwrap_or(Path::new("."));
            let file = base.join(rel);
            if !file.exists() {
                return Err(fail(
                    &sources,
                    Error::at(
                        model_field.value.span,
                        format!("model file {} does not exist", file.display()),
                    ),
                ));
            }
            sources.read(&file, Some(model_field.value.span))?
        }
        Kind::Struct(..) => model_field.value.clone(),
        _ => {
            return Err(fail(
                &sources,
                Error::at(
                    model_field.value.span,
                    "`model` is a file name or an embedded `Model(...)`",
                ),
            ))
        }
    };

    let set =
        overrides_of(set_field.as_ref().map(|f| &f.value), "set").map_err(|e| fail(&sources, e))?;
    let variants =
        variants_of(variants_field.as_ref().map(|f| &f.value)).map_err(|e| fail(&sources, e))?;
    let sweep = sweep_of(sweep_field.as_ref().map(|f| &f.value)).map_err(|e| fail(&sources, e))?;
    let base_dir = path.parent().unwrap_or(Path::new("."));
    let faults: Vec<(spec::FaultSpec, Span)> = settings
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| {
            (
                f.clone(),
                overrides::locate(&root, &["faults", &i.to_string()]).span,
            )
        })
        .collect();
    let mut base = model_tree;
    apply(&mut base, &set).map_err(|e| fail(&sources, e))?;
    let builder = Builder {
        sources: sources.clone(),
        root: root.clone(),
        base,
        variants: variants.clone(),
        cli_set,
        faults,
        base_dir: base_dir.to_path_buf(),
    };
    crate::model::bounds::UNITS
        .check((variants.len() as u64).saturating_mul(sweep.points.len() as u64))
        .map_err(|m| {
            fail(
                &sources,
                Error::at(root.span, format!("variants × sweep points: {m}")),
            )
        })?;
    let mut points = Vec::new();
    for variant in 0..variants.len() {
        for combo in &sweep.points {
            points.push(builder.point(variant, combo)?);
        }
    }

    let most = settings
        .stop_when
        .as_ref()
        .map_or(settings.replications, |r| {
            r.max_replications.max(settings.replications)
        });
    crate::model::bounds::UNITS
        .check(points.len() as u64 * most as u64)
        .map_err(|m| {
            fail(
                &sources,
                Error::at(overrides::locate(&root, &["replications"]).span, m),
            )
        })?;
    if let Some(b) = &settings.baseline {
        if !variants.iter().any(|(n, _)| n == b) {
            let names: Vec<String> = variants.iter().map(|(n, _)| format!("`{n}`")).collect();
            return Err(fail(
                &sources,
                Error::at(
                    overrides::locate(&root, &["baseline"]).span,
                    format!(
                        "baseline `{b}` is not a variant; variants are {}",
                        names.join(", ")
                    ),
                ),
            ));
        }
    }
    if let Some(rule) = &settings.stop_when {
        check_stop_rule(rule, &settings, &points[0].actors).map_err(|m| {
            fail(
                &sources,
                Error::at(overrides::locate(&root, &["stop_when"]).span, m),
            )
        })?;
    }

    let name = settings.name.clone().unwrap_or_else(|| stem(path));
    let warnings = warnings::of(&settings, &points);
    Ok(Plan {
        name,
        file: path.to_path_buf(),
        settings,
        sweep_paths: sweep.paths,
        points,
        series_for_every_run: false,
        question: plan_field.map(|f| f.value),
        builder,
        warnings,
        introduction: crate::files::read_text(path)
            .map(|t| introduction_of(&t))
            .unwrap_or_default(),
    })
}

/// Builds points from overrides: the experiment after `set`, its variants, its fault
/// timeline and the command line's `--set`, so a search can ask for points the file's sweep
/// does not list.
#[derive(Clone, Debug)]
pub struct Builder {
    sources: Sources,
    root: Node,
    base: Node,
    variants: Vec<(String, Vec<Override>)>,
    cli_set: Vec<Override>,
    faults: Vec<(spec::FaultSpec, Span)>,
    base_dir: PathBuf,
}

impl Builder {
    /// Names the file, line and column of a span.
    pub fn locate(&self, span: Span) -> String {
        self.sources.locate(span)
    }

    /// Where a field of the experiment is written (`["expect", "0"]`), or the nearest
    /// enclosing value that is.
    pub fn span_of(&self, path: &[&str]) -> Span {
        overrides::locate(&self.root, path).span
    }

    /// A located error.
    pub fn problem(&self, span: Span, message: impl Into<String>) -> Problem {
        self.sources.problem(Error::at(span, message))
    }

    /// The variants' names, in file order.
    pub fn variants(&self) -> Vec<String> {
        self.variants.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The point of variant `variant` with `values` (dotted path, value, where the value was
    /// written) applied over the variant's own overrides: model fields and `faults.N` alike.
    pub fn point_with(
        &self,
        variant: usize,
        values: &[(String, Node, Span)],
    ) -> Result<Point, Problem> {
        let combo: Vec<Override> = values
            .iter()
            .map(|(path, value, span)| Override {
                path: path.clone(),
                span: *span,
                value: value.clone(),
            })
            .collect();
        self.point(variant, &combo)
    }

    fn point(&self, variant: usize, combo: &[Override]) -> Result<Point, Problem> {
        let fail = |e: Error| self.sources.problem(e);
        // Overrides of `faults.N.field` change the fault timeline of their variant or point
        // (a deployment strategy per variant, a slowdown factor swept); the rest change the
        // model.
        let is_fault = |o: &&Override| o.path.split('.').next().map(str::trim) == Some("faults");
        let (name, changes) = &self.variants[variant];
        let (v_faults, changes): (Vec<Override>, Vec<Override>) =
            changes.iter().cloned().partition(|o| is_fault(&o));
        let mut tree = self.base.clone();
        apply(&mut tree, &changes).map_err(fail)?;
        let (p_faults, model_combo): (Vec<Override>, Vec<Override>) =
            combo.iter().cloned().partition(|o| is_fault(&o));
        apply(&mut tree, &model_combo).map_err(fail)?;
        let params = combo
            .iter()
            .map(|o| (o.path.clone(), Param::of(&o.value)))
            .collect();
        apply(&mut tree, &self.cli_set).map_err(fail)?;
        let model: spec::Model = de::from_node(&tree).map_err(fail)?;
        let point_faults = if v_faults.is_empty() && p_faults.is_empty() {
            self.faults.clone()
        } else {
            let mut r = self.root.clone();
            let count = match r.field("faults").map(|f| &f.kind) {
                Some(Kind::List(items)) => items.len(),
                _ => 0,
            };
            for o in v_faults.iter().chain(&p_faults) {
                let segments: Vec<String> =
                    o.path.split('.').map(|s| s.trim().to_string()).collect();
                let index = segments.get(1).and_then(|i| i.parse::<usize>().ok());
                if segments.len() > 2 && index.is_none_or(|i| i >= count) {
                    return Err(fail(Error::at(
                        o.span,
                        format!(
                            "`{}` names no fault: the experiment's `faults` list has {count} \
                             (numbered from 0)",
                            o.path
                        ),
                    )));
                }
                overrides::set_path(&mut r, &segments, o.value.clone()).map_err(|m| {
                    fail(Error::at(
                        o.span,
                        format!("cannot apply override `{}`: {m}", o.path),
                    ))
                })?;
            }
            let list: Vec<spec::FaultSpec> =
                de::from_node(overrides::locate(&r, &["faults"])).map_err(fail)?;
            list.into_iter()
                .enumerate()
                .map(|(i, f)| (f, overrides::locate(&r, &["faults", &i.to_string()]).span))
                .collect()
        };
        let actors = build::build(&model, &tree, &point_faults, &self.base_dir).map_err(fail)?;
        Ok(Point {
            variant: name.clone(),
            params,
            actors,
        })
    }
}

/// The file name without its extension: the default experiment name and result folder.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "experiment".into())
}

fn check_stop_rule(
    rule: &StopWhen,
    s: &Settings,
    actors: &[(String, ActorConfig)],
) -> Result<(), String> {
    if !(rule.rel_ci95 > 0.0 && rule.rel_ci95.is_finite()) {
        return Err(format!(
            "stop_when.rel_ci95 must be positive, not {}",
            rule.rel_ci95
        ));
    }
    if s.replications < 2 {
        return Err(
            "stop_when needs replications of at least 2 (a confidence interval needs two runs)"
                .into(),
        );
    }
    if rule.max_replications < s.replications {
        return Err(format!(
            "stop_when.max_replications ({}) is below replications ({})",
            rule.max_replications, s.replications
        ));
    }
    // The metric names a run reports, from a network that has not run.
    let net = crate::components::Network::build(actors.to_vec(), 0, 0, 0, 1)?;
    let names: Vec<String> = net.metrics(0).columns().map(|(n, _)| n).collect();
    if !names.contains(&rule.metric) {
        return Err(format!(
            "stop_when.metric `{}` is not a metric of this model; try one of {}",
            rule.metric,
            names
                .iter()
                .take(12)
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(())
}

fn check_settings(s: &Settings, root: &Node) -> Result<(), Error> {
    let at = |field: &str| overrides::locate(root, &[field]).span;
    if s.name.as_ref().is_some_and(|n| n.trim().is_empty()) {
        return Err(Error::at(
            at("name"),
            "name is empty: leave it out to use the file's name",
        ));
    }
    if s.duration.0 == 0 {
        return Err(Error::at(
            at("duration"),
            "duration must be longer than zero",
        ));
    }
    if s.warmup.0 >= s.duration.0 {
        return Err(Error::at(
            at("warmup"),
            format!(
                "warmup ({}s) must be shorter than duration ({}s): nothing would be measured",
                s.warmup.secs(),
                s.duration.secs()
            ),
        ));
    }
    if s.replications == 0 {
        return Err(Error::at(
            at("replications"),
            "replications must be at least 1",
        ));
    }
    crate::model::bounds::REPLICATIONS
        .check(s.replications as u64)
        .map_err(|m| Error::at(at("replications"), m))?;
    if let Some(rule) = &s.stop_when {
        crate::model::bounds::REPLICATIONS
            .check(rule.max_replications as u64)
            .map_err(|m| {
                Error::at(
                    overrides::locate(root, &["stop_when", "max_replications"]).span,
                    format!("stop_when.max_replications: {m}"),
                )
            })?;
    }
    if let Some(b) = s.bucket {
        if b.0 == 0 || s.duration.0 / b.0 > 100_000 {
            return Err(Error::at(
                at("bucket"),
                "bucket must be above zero and at most 100,000 buckets long",
            ));
        }
    }
    if s.limits.max_events == 0
        || s.limits.max_in_flight == 0
        || s.limits.max_wall.is_some_and(|w| w.0 == 0)
    {
        return Err(Error::at(at("limits"), "limits must be above zero"));
    }
    Ok(())
}

impl Plan {
    /// A digest of everything that determines the results (settings, points, actors), so that
    /// resumed or merged unit results are only combined with the plan that made them.
    pub fn id(&self) -> String {
        let mut text = format!(
            "{}\n{:?}\n{:?}\n",
            self.name, self.settings, self.sweep_paths
        );
        for p in &self.points {
            let params: Vec<String> = p.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            text.push_str(&format!("{}|{:?}|{:?}\n", p.variant, params, p.actors));
        }
        // FNV-1a, 64 bits: stable, and plenty to tell plans apart.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}
