//! The journal of a run in progress: one file per finished unit, written atomically the
//! moment it finishes, plus a record of what was run. An interrupted run resumes from it;
//! shards leave their units in it for `merge`.

use super::{Unit, UnitResult};
use crate::engine::StopReason;
use crate::files::write_atomic;
use crate::metrics::series::{Owner, Series};
use crate::metrics::RunMetrics;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// What was asked for, so a resume or a merge can rebuild the same plan.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    pub experiment: String,
    pub set: Vec<String>,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    /// The experiment's quick profile was used (`run --quick`).
    pub quick: bool,
    pub plan_id: String,
    /// `(index, count)` when this is one shard of a run.
    pub shard: Option<(u32, u32)>,
}

impl RunRecord {
    fn to_json(&self) -> String {
        let v = json!({
            "experiment": self.experiment,
            "set": self.set,
            "seed": self.seed,
            "replications": self.replications,
            "quick": self.quick,
            "plan_id": self.plan_id,
            "shard": self.shard.map(|(i, n)| format!("{i}/{n}")),
        });
        serde_json::to_string_pretty(&v).expect("plain JSON") + "\n"
    }

    fn from_json(text: &str) -> Option<RunRecord> {
        let v: Value = serde_json::from_str(text).ok()?;
        let shard = match v.get("shard")? {
            Value::Null => None,
            Value::String(s) => {
                let (i, n) = s.split_once('/')?;
                Some((i.parse().ok()?, n.parse().ok()?))
            }
            _ => return None,
        };
        Some(RunRecord {
            experiment: v.get("experiment")?.as_str()?.to_string(),
            set: v
                .get("set")?
                .as_array()?
                .iter()
                .map(|s| s.as_str().map(String::from))
                .collect::<Option<Vec<_>>>()?,
            seed: v.get("seed")?.as_u64(),
            replications: v.get("replications")?.as_u64().map(|r| r as u32),
            quick: v.get("quick").and_then(Value::as_bool).unwrap_or(false),
            plan_id: v.get("plan_id")?.as_str()?.to_string(),
            shard,
        })
    }
}

/// The `units/` folder of a result folder.
pub struct Journal {
    dir: PathBuf,
}

const RECORD: &str = "plan.json";

impl Journal {
    pub fn dir_of(out: &Path) -> PathBuf {
        out.join("units")
    }

    /// Starts a journal in `out/units`. With `resume`, keeps and returns the units already
    /// there (they must come from the same plan); without, starts empty.
    pub fn open(
        out: &Path,
        record: &RunRecord,
        resume: bool,
    ) -> Result<(Journal, Vec<UnitResult>), String> {
        let dir = Self::dir_of(out);
        let mut known = Vec::new();
        if resume && dir.join(RECORD).exists() {
            let (old, units) = read(&dir)?;
            if old.plan_id != record.plan_id || old.shard != record.shard {
                return Err(format!(
                    "{} holds runs of a different experiment, settings or shard; \
                     run without --resume to start over, or choose another --out",
                    dir.display()
                ));
            }
            known = units;
        } else if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        write_atomic(&dir.join(RECORD), record.to_json().as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", dir.join(RECORD).display()))?;
        Ok((Journal { dir }, known))
    }

    /// Persists one finished unit.
    pub fn save(&self, r: &UnitResult) -> std::io::Result<()> {
        let name = format!("p{:05}-r{:05}.json", r.unit.point, r.unit.replication);
        write_atomic(&self.dir.join(name), unit_json(r).as_bytes())
    }

    /// Removes the journal once the final files are written (replacing the folder whole
    /// may have removed it already).
    pub fn finish(self) -> std::io::Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }
}

/// Reads a journal folder: its record and every unit in it, in (point, replication) order.
pub fn read(dir: &Path) -> Result<(RunRecord, Vec<UnitResult>), String> {
    let rec_path = dir.join(RECORD);
    let text = std::fs::read_to_string(&rec_path)
        .map_err(|e| format!("cannot read {}: {e}", rec_path.display()))?;
    let record = RunRecord::from_json(&text).ok_or_else(|| {
        format!(
            "{} is not a run record written by scalesim",
            rec_path.display()
        )
    })?;
    let mut units = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == RECORD || !(name.starts_with('p') && name.ends_with(".json")) {
            continue; // the record, or a temporary file of an interrupted write
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let unit = unit_from_json(&text).ok_or_else(|| {
            format!(
                "{} is corrupt: delete it and resume to run it again",
                path.display()
            )
        })?;
        units.push(unit);
    }
    units.sort_by_key(|u| (u.unit.point, u.unit.replication));
    Ok((record, units))
}

fn num(x: f64) -> Value {
    // JSON has no NaN: an undefined metric is null.
    if x.is_nan() {
        Value::Null
    } else {
        json!(x)
    }
}

fn unit_json(r: &UnitResult) -> String {
    let experiment: Vec<Value> = r
        .metrics
        .experiment
        .iter()
        .map(|(n, v)| json!([n, num(*v)]))
        .collect();
    let nodes: Vec<Value> = r
        .metrics
        .nodes
        .iter()
        .map(|(node, ms)| {
            let ms: Vec<Value> = ms.iter().map(|(n, v)| json!([n, num(*v)])).collect();
            json!([node, ms])
        })
        .collect();
    let v = json!({
        "point": r.unit.point,
        "replication": r.unit.replication,
        "events": r.events,
        "fingerprint": format!("{:016x}", r.fingerprint),
        "stop": stop_name(r.stop),
        "end_s": r.end_s,
        "experiment": experiment,
        "nodes": nodes,
        "series": r.series.as_ref().map(|s| json!({
            "bucket_s": s.bucket_s,
            "columns": s.columns,
            "owners": s.owners.iter().map(|o| json!([o.kind(), o.node()])).collect::<Vec<_>>(),
            "rows": s.rows.iter().map(|row| row.iter().map(|x| num(*x)).collect::<Vec<_>>()).collect::<Vec<_>>(),
        })),
    });
    serde_json::to_string(&v).expect("plain JSON")
}

pub fn stop_name(s: StopReason) -> &'static str {
    match s {
        StopReason::Duration => "duration",
        StopReason::Idle => "idle",
        StopReason::MaxEvents => "max_events",
        StopReason::WorldLimit => "max_in_flight",
        StopReason::NoProgress => "no_progress",
        StopReason::WallClock => "max_wall",
    }
}

fn pairs(v: &Value) -> Option<Vec<(String, f64)>> {
    v.as_array()?
        .iter()
        .map(|p| {
            let p = p.as_array()?;
            let x = match p.get(1)? {
                Value::Null => f64::NAN,
                x => x.as_f64()?,
            };
            Some((p.first()?.as_str()?.to_string(), x))
        })
        .collect()
}

fn unit_from_json(text: &str) -> Option<UnitResult> {
    let v: Value = serde_json::from_str(text).ok()?;
    let stop = match v.get("stop")?.as_str()? {
        "duration" => StopReason::Duration,
        "idle" => StopReason::Idle,
        "max_events" => StopReason::MaxEvents,
        "max_in_flight" => StopReason::WorldLimit,
        "no_progress" => StopReason::NoProgress,
        "max_wall" => StopReason::WallClock,
        _ => return None,
    };
    let nodes = v
        .get("nodes")?
        .as_array()?
        .iter()
        .map(|n| {
            let n = n.as_array()?;
            Some((n.first()?.as_str()?.to_string(), pairs(n.get(1)?)?))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(UnitResult {
        unit: Unit {
            point: v.get("point")?.as_u64()? as usize,
            replication: v.get("replication")?.as_u64()? as u32,
        },
        metrics: RunMetrics {
            experiment: pairs(v.get("experiment")?)?,
            nodes,
        },
        events: v.get("events")?.as_u64()?,
        fingerprint: u64::from_str_radix(v.get("fingerprint")?.as_str()?, 16).ok()?,
        stop,
        end_s: v.get("end_s")?.as_f64()?,
        wall_s: None,
        series: match v.get("series") {
            None | Some(Value::Null) => None,
            Some(s) => Some(Series {
                bucket_s: s.get("bucket_s")?.as_f64()?,
                columns: s
                    .get("columns")?
                    .as_array()?
                    .iter()
                    .map(|c| c.as_str().map(String::from))
                    .collect::<Option<_>>()?,
                owners: s
                    .get("owners")?
                    .as_array()?
                    .iter()
                    .map(|o| {
                        let o = o.as_array()?;
                        Owner::from_parts(o.first()?.as_str()?, o.get(1)?.as_str())
                    })
                    .collect::<Option<_>>()?,
                rows: s
                    .get("rows")?
                    .as_array()?
                    .iter()
                    .map(|row| {
                        row.as_array()?
                            .iter()
                            .map(|x| {
                                if x.is_null() {
                                    Some(f64::NAN)
                                } else {
                                    x.as_f64()
                                }
                            })
                            .collect::<Option<Vec<f64>>>()
                    })
                    .collect::<Option<_>>()?,
            }),
        },
    })
}
