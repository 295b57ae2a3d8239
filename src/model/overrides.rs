//! Overrides: replacing the value at a dotted path (`app.queue.capacity`) in a syntax tree.
//!
//! Working on the tree, not on typed values, keeps enum variant names (`Some(Retry(...))`)
//! and the location of the override, so a wrong field name is reported where it was written.

use super::syntax::{Field, Kind, Node};

/// Sets `path` (already split on dots) inside `node` to `value`. A field missing from the
/// file is added: if it does not exist in the schema either, reading the tree reports it as
/// an unknown field at the override's location.
pub fn set_path(node: &mut Node, path: &[String], value: Node) -> Result<(), String> {
    let Some((head, rest)) = path.split_first() else {
        *node = value;
        return Ok(());
    };
    let here = node.to_string();
    let descr = node.describe();
    match &mut node.kind {
        Kind::Tuple(Some(n), items) if n == "Some" && items.len() == 1 => {
            set_path(&mut items[0], path, value)
        }
        Kind::Struct(_, fields) => {
            if let Some(f) = fields.iter_mut().find(|f| f.name == *head) {
                return set_path(&mut f.value, rest, value);
            }
            let span = value.span;
            let mut v = Node::new(span, Kind::Struct(None, Vec::new()));
            set_path(&mut v, rest, value)?;
            fields.push(Field {
                name: head.clone(),
                name_span: span,
                value: v,
            });
            Ok(())
        }
        Kind::Map(entries) => {
            if let Some((_, v)) = entries
                .iter_mut()
                .find(|(k, _)| matches!(&k.kind, Kind::Str(s) | Kind::Ident(s) if s == head))
            {
                return set_path(v, rest, value);
            }
            if rest.is_empty() {
                let key = Node::new(value.span, Kind::Str(head.clone()));
                entries.push((key, value));
                Ok(())
            } else {
                Err(format!("there is no entry `{head}` here"))
            }
        }
        Kind::List(items) => match head.parse::<usize>() {
            Ok(i) if i < items.len() => set_path(&mut items[i], rest, value),
            _ => Err(format!(
                "`{head}` is not an index of {descr} of {} (counted from 0)",
                items.len()
            )),
        },
        _ => Err(format!(
            "cannot set `{head}` inside {descr} `{}`",
            shorten(&here)
        )),
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Finds the deepest node along `path` (struct fields, map keys, `Some`), for locating errors
/// about a value that may have been left to its default.
pub fn locate<'a>(node: &'a Node, path: &[&str]) -> &'a Node {
    let Some((head, rest)) = path.split_first() else {
        return node;
    };
    let next = match &node.kind {
        Kind::Tuple(Some(n), items) if n == "Some" && items.len() == 1 => {
            return locate(&items[0], path)
        }
        Kind::Struct(_, fields) => fields.iter().find(|f| f.name == *head).map(|f| &f.value),
        Kind::Map(entries) => entries
            .iter()
            .find(|(k, _)| matches!(&k.kind, Kind::Str(s) | Kind::Ident(s) if s == head))
            .map(|(_, v)| v),
        Kind::List(items) | Kind::Tuple(_, items) => {
            head.parse::<usize>().ok().and_then(|i| items.get(i))
        }
        _ => None,
    };
    match next {
        Some(n) => locate(n, rest),
        None => node,
    }
}

#[cfg(test)]
mod tests {
    use super::super::syntax::parse;
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(String::from).collect()
    }

    #[test]
    fn keeps_enum_variants() {
        let mut n = parse(
            r#"(nodes: {"users": Client(arrivals: Poisson(rate: 1.0))})"#,
            0,
        )
        .unwrap();
        set_path(
            &mut n,
            &path("nodes.users.arrivals.rate"),
            parse("5.0", 1).unwrap(),
        )
        .unwrap();
        set_path(
            &mut n,
            &path("nodes.users.retry"),
            parse("Some(Retry(max: 3))", 1).unwrap(),
        )
        .unwrap();
        assert_eq!(
            n.to_string(),
            r#"(nodes: {"users": Client(arrivals: Poisson(rate: 5.0), retry: Some(Retry(max: 3)))})"#
        );
        let err = set_path(
            &mut n,
            &path("nodes.users.arrivals.rate.x"),
            parse("1", 1).unwrap(),
        );
        assert!(err.unwrap_err().contains("cannot set `x`"));
    }
}
