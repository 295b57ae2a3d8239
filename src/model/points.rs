//! The experiment's points as override lists: `set`, `variants` and `sweep` read from the
//! file, and applied to a model tree.

use super::de::Error;
use super::overrides;
use super::syntax::{Kind, Node, Span};

/// An override: a dotted path and the value to put there.
#[derive(Clone, Debug)]
pub(super) struct Override {
    pub(super) path: String,
    pub(super) span: Span,
    pub(super) value: Node,
}

pub(super) fn overrides_of(node: Option<&Node>, what: &str) -> Result<Vec<Override>, Error> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    let Kind::Map(entries) = &node.kind else {
        return Err(Error::at(
            node.span,
            format!("`{what}` is a map of paths to values: {{ \"app.replicas\": 4 }}"),
        ));
    };
    entries
        .iter()
        .map(|(k, v)| match &k.kind {
            Kind::Str(p) => Ok(Override {
                path: p.clone(),
                span: k.span,
                value: v.clone(),
            }),
            _ => Err(Error::at(
                k.span,
                "an override path is a string: \"node.field\"",
            )),
        })
        .collect()
}

pub(super) fn variants_of(node: Option<&Node>) -> Result<Vec<(String, Vec<Override>)>, Error> {
    let Some(node) = node else {
        return Ok(vec![("base".into(), Vec::new())]);
    };
    let Kind::Map(entries) = &node.kind else {
        return Err(Error::at(
            node.span,
            "`variants` is a map of names to overrides: { \"fast\": { \"app.speed\": 2.0 } }",
        ));
    };
    if entries.is_empty() {
        return Ok(vec![("base".into(), Vec::new())]);
    }
    let mut out: Vec<(String, Vec<Override>)> = Vec::new();
    for (k, v) in entries {
        let Kind::Str(name) = &k.kind else {
            return Err(Error::at(k.span, "a variant name is a string"));
        };
        if name.is_empty() || name.contains(['.', ',', '"']) {
            return Err(Error::at(
                k.span,
                "a variant name must be non-empty, without dots, commas or quotes",
            ));
        }
        if out.iter().any(|(n, _)| n == name) {
            return Err(Error::at(
                k.span,
                format!("variant `{name}` is given twice"),
            ));
        }
        out.push((name.clone(), overrides_of(Some(v), "a variant")?));
    }
    Ok(out)
}

/// A sweep: the paths it varies and its points, each a list of overrides in path order.
pub(super) struct Sweep {
    pub(super) paths: Vec<String>,
    pub(super) points: Vec<Vec<Override>>,
}

/// Reads `sweep: { path: [values] }` (a grid: the cartesian product, first path slowest) or
/// `sweep: Zip({ path: [values] })` (paired lists of equal length: the i-th values together).
pub(super) fn sweep_of(node: Option<&Node>) -> Result<Sweep, Error> {
    let Some(node) = node else {
        return Ok(Sweep {
            paths: Vec::new(),
            points: vec![Vec::new()],
        });
    };
    let hint = "`sweep` is a map of paths to lists, { \"users.arrivals.rate\": [10.0, 20.0] }, \
                or Zip({ ... }) for paired lists";
    let (zip, map) = match &node.kind {
        Kind::Map(_) => (false, node),
        Kind::Tuple(Some(n), items) if (n == "Zip" || n == "Grid") && items.len() == 1 => {
            (n == "Zip", &items[0])
        }
        _ => return Err(Error::at(node.span, hint)),
    };
    let Kind::Map(entries) = &map.kind else {
        return Err(Error::at(map.span, hint));
    };
    let mut lists: Vec<(String, Vec<Override>)> = Vec::new();
    for (k, v) in entries {
        let Kind::Str(path) = &k.kind else {
            return Err(Error::at(
                k.span,
                "a sweep path is a string: \"node.field\"",
            ));
        };
        let Kind::List(items) = &v.kind else {
            return Err(Error::at(
                v.span,
                format!("sweep `{path}` needs a list of values `[...]`"),
            ));
        };
        if items.is_empty() {
            return Err(Error::at(v.span, format!("sweep `{path}` has no values")));
        }
        if zip && !lists.is_empty() && items.len() != lists[0].1.len() {
            return Err(Error::at(
                v.span,
                format!(
                    "Zip needs lists of equal length: `{path}` has {} values, `{}` has {}",
                    items.len(),
                    lists[0].0,
                    lists[0].1.len()
                ),
            ));
        }
        let values = items
            .iter()
            .map(|item| Override {
                path: path.clone(),
                span: k.span,
                value: item.clone(),
            })
            .collect();
        lists.push((path.clone(), values));
    }
    let paths = lists.iter().map(|(p, _)| p.clone()).collect();
    if !zip {
        let grid = lists
            .iter()
            .fold(1u64, |n, (_, vs)| n.saturating_mul(vs.len() as u64));
        crate::model::bounds::UNITS
            .check(grid)
            .map_err(|m| Error::at(node.span, format!("the sweep's grid: {m}")))?;
    }
    let points = if zip {
        let n = lists.first().map_or(1, |l| l.1.len());
        (0..n)
            .map(|i| lists.iter().map(|(_, vs)| vs[i].clone()).collect())
            .collect()
    } else {
        let mut combos: Vec<Vec<Override>> = vec![Vec::new()];
        for (_, values) in &lists {
            combos = combos
                .iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c2 = c.clone();
                        c2.push(v.clone());
                        c2
                    })
                })
                .collect();
        }
        combos
    };
    Ok(Sweep { paths, points })
}

/// Applies overrides to a model tree. A path starts with a node name (`app.replicas`) or
/// with a top-level model field (`nodes.app.replicas`, `description`).
pub(super) fn apply(tree: &mut Node, changes: &[Override]) -> Result<(), Error> {
    for o in changes {
        let segments: Vec<String> = o.path.split('.').map(|s| s.trim().to_string()).collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(Error::at(
                o.span,
                format!("override path `{}` has an empty part", o.path),
            ));
        }
        let node_names: Vec<String> = match tree.field("nodes").map(|n| &n.kind) {
            Some(Kind::Map(entries)) => entries
                .iter()
                .filter_map(|(k, _)| match &k.kind {
                    Kind::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let full: Vec<String> = if node_names.contains(&segments[0]) {
            std::iter::once("nodes".to_string())
                .chain(segments.iter().cloned())
                .collect()
        } else if segments[0] == "nodes" || segments[0] == "description" {
            segments.clone()
        } else {
            let known: Vec<String> = node_names.iter().map(|n| format!("`{n}`")).collect();
            return Err(Error::at(
                o.span,
                format!(
                    "unknown override path `{}`: there is no node `{}`; nodes are {}",
                    o.path,
                    segments[0],
                    known.join(", ")
                ),
            ));
        };
        overrides::set_path(tree, &full, o.value.clone())
            .map_err(|m| Error::at(o.span, format!("cannot apply override `{}`: {m}", o.path)))?;
    }
    Ok(())
}
