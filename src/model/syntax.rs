//! A RON reader that keeps what serde's generic values lose: every value's location, and the
//! names of enum variants and structs.
//!
//! Overrides (`set`, `variants`, `sweep`, `--set`) edit this tree before it is turned into
//! typed settings, so `Some(Retry(...))` or `Exponential(base: "50ms")` survive an override,
//! and an error found late (a zero worker count) can still point at its line and column.

use std::fmt;

/// Where a value came from: a source (file or command-line argument) and a position in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub source: u32,
    pub line: u32,
    pub col: u32,
}

/// A parsed value with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX` (a seed up to 2^64 − 1).
    UInt(u64),
    Float(f64),
    Str(String),
    /// A bare identifier: a unit enum variant, `None`, or a unit struct name.
    Ident(String),
    /// `Name(a, b)` or `(a, b)`; `Some(x)` is a tuple named `Some`.
    Tuple(Option<String>, Vec<Node>),
    /// `Name(field: value, ...)` or `(field: value, ...)`.
    Struct(Option<String>, Vec<Field>),
    List(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub name_span: Span,
    pub value: Node,
}

/// A syntax error at a position.
#[derive(Clone, Debug)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
}

impl Node {
    pub fn new(span: Span, kind: Kind) -> Self {
        Node { span, kind }
    }

    /// What kind of value this is, in words for error messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) | Kind::UInt(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Ident(_) => "an identifier",
            Kind::Tuple(..) => "a tuple",
            Kind::Struct(..) => "a struct",
            Kind::List(_) => "a list",
            Kind::Map(_) => "a map",
        }
    }

    /// The fields of a struct value, or of the struct inside `Some(...)`.
    pub fn field(&self, name: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Struct(_, fields) => fields.iter().find(|f| f.name == name).map(|f| &f.value),
            Kind::Tuple(Some(n), items) if n == "Some" && items.len() == 1 => items[0].field(name),
            _ => None,
        }
    }

    /// Removes and returns a struct field.
    pub fn take_field(&mut self, name: &str) -> Option<Field> {
        match &mut self.kind {
            Kind::Struct(_, fields) => {
                let i = fields.iter().position(|f| f.name == name)?;
                Some(fields.remove(i))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Node {
    /// Prints the value back as compact RON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Bool(b) => write!(f, "{b}"),
            Kind::Int(i) => write!(f, "{i}"),
            Kind::UInt(u) => write!(f, "{u}"),
            Kind::Float(x) => write!(f, "{x:?}"),
            Kind::Str(s) => write!(f, "{s:?}"),
            Kind::Ident(s) => write!(f, "{s}"),
            Kind::Tuple(name, items) => {
                write!(f, "{}(", name.as_deref().unwrap_or(""))?;
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{it}")?;
                }
                write!(f, ")")
            }
            Kind::Struct(name, fields) => {
                write!(f, "{}(", name.as_deref().unwrap_or(""))?;
                for (i, fl) in fields.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{}: {}", fl.name, fl.value)?;
                }
                write!(f, ")")
            }
            Kind::List(items) => {
                write!(f, "[")?;
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{it}")?;
                }
                write!(f, "]")
            }
            Kind::Map(entries) => {
                write!(f, "{{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}

/// Parses one RON value filling the whole of `text` (comments and whitespace aside).
pub fn parse(text: &str, source: u32) -> Result<Node, SyntaxError> {
    let mut p = Parser {
        bytes: text.as_bytes(),
        text,
        pos: 0,
        line: 1,
        col: 1,
        source,
        depth: 0,
    };
    p.skip_ws()?;
    let node = p.value()?;
    p.skip_ws()?;
    if p.pos < p.bytes.len() {
        return Err(p.error("unexpected text after the end of the value"));
    }
    Ok(node)
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    line: u32,
    col: u32,
    source: u32,
    depth: u32,
}

/// Nesting deeper than this is surely a mistake, and would overflow the stack.
const MAX_DEPTH: u32 = 128;

impl Parser<'_> {
    fn span(&self) -> Span {
        Span {
            source: self.source,
            line: self.line,
            col: self.col,
        }
    }

    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            span: self.span(),
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.text[self.pos..].chars().next()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_ws(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => {
                    self.bump();
                }
                Some(b'/') if self.bytes.get(self.pos + 1) == Some(&b'/') => {
                    while !matches!(self.peek(), None | Some(b'\n')) {
                        self.bump();
                    }
                }
                Some(b'/') if self.bytes.get(self.pos + 1) == Some(&b'*') => {
                    let start = self.span();
                    self.bump();
                    self.bump();
                    let mut depth = 1;
                    while depth > 0 {
                        match self.peek() {
                            None => {
                                return Err(SyntaxError {
                                    span: start,
                                    message: "unterminated block comment".into(),
                                })
                            }
                            Some(b'*') if self.bytes.get(self.pos + 1) == Some(&b'/') => {
                                self.bump();
                                self.bump();
                                depth -= 1;
                            }
                            Some(b'/') if self.bytes.get(self.pos + 1) == Some(&b'*') => {
                                self.bump();
                                self.bump();
                                depth += 1;
                            }
                            _ => {
                                self.bump();
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), SyntaxError> {
        self.skip_ws()?;
        if self.peek() == Some(c) {
            self.bump();
            Ok(())
        } else {
            Err(self.error(format!("expected {what}, found {}", self.found())))
        }
    }

    fn found(&self) -> String {
        match self.text[self.pos..].chars().next() {
            None => "the end of the file".into(),
            Some(c) => format!("`{c}`"),
        }
    }

    fn value(&mut self) -> Result<Node, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("values nested too deeply"));
        }
        let r = self.value_inner();
        self.depth -= 1;
        r
    }

    fn value_inner(&mut self) -> Result<Node, SyntaxError> {
        self.skip_ws()?;
        let span = self.span();
        match self.peek() {
            None => Err(self.error("expected a value, found the end of the file")),
            Some(b'"') => Ok(Node::new(span, Kind::Str(self.string()?))),
            Some(b'r') if matches!(self.bytes.get(self.pos + 1), Some(b'"' | b'#')) => {
                Ok(Node::new(span, Kind::Str(self.raw_string()?)))
            }
            Some(b'[') => {
                self.bump();
                let items = self.items(b']')?;
                Ok(Node::new(span, Kind::List(items)))
            }
            Some(b'{') => {
                self.bump();
                let mut entries = Vec::new();
                // Each key's text and where it was first written: a key given twice is a
                // mistake (the last would silently win), refused with both places.
                let mut seen: std::collections::HashMap<String, Span> = Default::default();
                loop {
                    self.skip_ws()?;
                    if self.peek() == Some(b'}') {
                        self.bump();
                        break;
                    }
                    let k = self.value()?;
                    if let Some(first) = seen.insert(k.to_string(), k.span) {
                        return Err(SyntaxError {
                            span: k.span,
                            message: format!(
                                "key {k} is given twice in this map (first at line {}, column {})",
                                first.line, first.col
                            ),
                        });
                    }
                    self.expect(b':', "`:` after a map key")?;
                    let v = self.value()?;
                    entries.push((k, v));
                    self.skip_ws()?;
                    match self.peek() {
                        Some(b',') => {
                            self.bump();
                        }
                        Some(b'}') => {}
                        _ => {
                            return Err(self.error(format!(
                                "expected `,` or `}}` in a map, found {}",
                                self.found()
                            )))
                        }
                    }
                }
                Ok(Node::new(span, Kind::Map(entries)))
            }
            Some(b'(') => self.parens(span, None),
            Some(c) if c == b'-' || c == b'+' || c == b'.' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let ident = self.ident();
                match ident.as_str() {
                    "true" => return Ok(Node::new(span, Kind::Bool(true))),
                    "false" => return Ok(Node::new(span, Kind::Bool(false))),
                    "inf" => return Ok(Node::new(span, Kind::Float(f64::INFINITY))),
                    "NaN" => return Ok(Node::new(span, Kind::Float(f64::NAN))),
                    _ => {}
                }
                // No whitespace skipping here: `Name (` is unusual but RON allows it.
                let save = (self.pos, self.line, self.col);
                self.skip_ws()?;
                if self.peek() == Some(b'(') {
                    self.parens(span, Some(ident))
                } else {
                    (self.pos, self.line, self.col) = save;
                    Ok(Node::new(span, Kind::Ident(ident)))
                }
            }
            Some(_) => Err(self.error(format!("expected a value, found {}", self.found()))),
        }
    }

    /// After `Name` or nothing, at `(`: a struct `(a: 1)` or a tuple `(1, 2)`.
    fn parens(&mut self, span: Span, name: Option<String>) -> Result<Node, SyntaxError> {
        self.bump(); // (
        self.skip_ws()?;
        if self.peek() == Some(b')') {
            self.bump();
            return Ok(Node::new(span, Kind::Struct(name, Vec::new())));
        }
        if self.at_field_name() {
            let mut fields: Vec<Field> = Vec::new();
            let mut seen: std::collections::HashMap<String, Span> = Default::default();
            loop {
                self.skip_ws()?;
                if self.peek() == Some(b')') {
                    self.bump();
                    break;
                }
                let name_span = self.span();
                if !self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
                {
                    return Err(
                        self.error(format!("expected a field name, found {}", self.found()))
                    );
                }
                let fname = self.ident();
                if let Some(first) = seen.insert(fname.clone(), name_span) {
                    return Err(SyntaxError {
                        span: name_span,
                        message: format!(
                            "field `{fname}` is given twice (first at line {}, column {})",
                            first.line, first.col
                        ),
                    });
                }
                self.expect(b':', &format!("`:` after field name `{fname}`"))?;
                let value = self.value()?;
                fields.push(Field {
                    name: fname,
                    name_span,
                    value,
                });
                self.skip_ws()?;
                match self.peek() {
                    Some(b',') => {
                        self.bump();
                    }
                    Some(b')') => {}
                    _ => {
                        return Err(self.error(format!(
                            "expected `,` or `)` after a field, found {}",
                            self.found()
                        )))
                    }
                }
            }
            Ok(Node::new(span, Kind::Struct(name, fields)))
        } else {
            let items = self.items(b')')?;
            Ok(Node::new(span, Kind::Tuple(name, items)))
        }
    }

    /// Whether the next tokens are `ident :` (a struct field) rather than a value.
    fn at_field_name(&self) -> bool {
        let mut i = self.pos;
        let b = self.bytes;
        if !b
            .get(i)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        {
            return false;
        }
        while b
            .get(i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            i += 1;
        }
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        b.get(i) == Some(&b':')
    }

    fn items(&mut self, close: u8) -> Result<Vec<Node>, SyntaxError> {
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            if self.peek() == Some(close) {
                self.bump();
                return Ok(items);
            }
            items.push(self.value()?);
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => {
                    self.bump();
                }
                Some(c) if c == close => {}
                _ => {
                    return Err(self.error(format!(
                        "expected `,` or `{}`, found {}",
                        close as char,
                        self.found()
                    )))
                }
            }
        }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.bump();
        }
        self.text[start..self.pos].to_string()
    }

    fn number(&mut self) -> Result<Node, SyntaxError> {
        let span = self.span();
        let start = self.pos;
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.bump();
        }
        if self.text[self.pos..].starts_with("inf") {
            for _ in 0..3 {
                self.bump();
            }
        }
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_'))
            || (matches!(self.peek(), Some(b'-' | b'+'))
                && matches!(self.bytes[self.pos - 1], b'e' | b'E'))
        {
            self.bump();
        }
        let raw: String = self.text[start..self.pos]
            .chars()
            .filter(|c| *c != '_')
            .collect();
        let is_float = raw.contains(['.', 'e', 'E']) || raw.ends_with("inf");
        if !is_float {
            if let Ok(i) = raw.parse::<i64>() {
                return Ok(Node::new(span, Kind::Int(i)));
            }
            if let Ok(u) = raw.trim_start_matches('+').parse::<u64>() {
                return Ok(Node::new(span, Kind::UInt(u)));
            }
        }
        match raw.parse::<f64>() {
            Ok(x) => Ok(Node::new(span, Kind::Float(x))),
            Err(_) => Err(SyntaxError {
                span,
                message: format!("`{raw}` is not a number"),
            }),
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.span();
        self.bump(); // "
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(SyntaxError {
                        span: start,
                        message: "unterminated string".into(),
                    })
                }
                Some('"') => return Ok(out),
                Some('\\') => {
                    let esc = self.span();
                    match self.bump() {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('r') => out.push('\r'),
                        Some('0') => out.push('\0'),
                        Some('\\') => out.push('\\'),
                        Some('"') => out.push('"'),
                        Some('\'') => out.push('\''),
                        Some('\n') => {
                            while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                                self.bump();
                            }
                        }
                        Some('u') => {
                            let c = self.unicode_escape().ok_or(SyntaxError {
                                span: esc,
                                message: "bad unicode escape: write \\u{XXXX}".into(),
                            })?;
                            out.push(c);
                        }
                        _ => {
                            return Err(SyntaxError {
                                span: esc,
                                message: "unknown escape in string".into(),
                            })
                        }
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn unicode_escape(&mut self) -> Option<char> {
        if self.bump()? != '{' {
            return None;
        }
        let mut hex = String::new();
        loop {
            match self.bump()? {
                '}' => break,
                c => hex.push(c),
            }
        }
        char::from_u32(u32::from_str_radix(&hex, 16).ok()?)
    }

    fn raw_string(&mut self) -> Result<String, SyntaxError> {
        let start = self.span();
        self.bump(); // r
        let mut hashes = 0;
        while self.peek() == Some(b'#') {
            self.bump();
            hashes += 1;
        }
        if self.bump() != Some('"') {
            return Err(SyntaxError {
                span: start,
                message: "malformed raw string".into(),
            });
        }
        let body_start = self.pos;
        let closing = format!("\"{}", "#".repeat(hashes));
        loop {
            if self.text[self.pos..].starts_with(&closing) {
                let body = self.text[body_start..self.pos].to_string();
                for _ in 0..closing.len() {
                    self.bump();
                }
                return Ok(body);
            }
            if self.bump().is_none() {
                return Err(SyntaxError {
                    span: start,
                    message: "unterminated raw string".into(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Node {
        parse(s, 0).unwrap_or_else(|e| panic!("{}:{}: {}", e.span.line, e.span.col, e.message))
    }

    #[test]
    fn parses_the_shapes_of_ron() {
        let n = p(r#"Experiment(
            // a comment
            name: "x", /* block /* nested */ */ n: 3, r: -2.5e3, ok: true,
            list: [1, 2,], map: { "a.b": Some(Retry(max: 5)), "c": None },
            e: Fixed("0ms"), u: Full, t: (1, "a"), unit: (),
        )"#);
        assert_eq!(
            n.field("name").map(|v| &v.kind),
            Some(&Kind::Str("x".into()))
        );
        assert_eq!(n.field("n").map(|v| &v.kind), Some(&Kind::Int(3)));
        assert_eq!(n.field("r").map(|v| &v.kind), Some(&Kind::Float(-2500.0)));
        assert_eq!(
            n.field("u").map(|v| &v.kind),
            Some(&Kind::Ident("Full".into()))
        );
        let map = n.field("map").unwrap();
        let Kind::Map(entries) = &map.kind else {
            panic!()
        };
        assert_eq!(entries[0].1.to_string(), "Some(Retry(max: 5))");
        assert_eq!(n.field("e").unwrap().to_string(), "Fixed(\"0ms\")");
        assert_eq!(n.field("t").unwrap().to_string(), "(1, \"a\")");
    }

    #[test]
    fn reports_positions() {
        let e = parse("(\n  a: 1,\n  b: ]\n)", 0).unwrap_err();
        assert_eq!((e.span.line, e.span.col), (3, 6));
        let e = parse("(a: 1, a: 2)", 0).unwrap_err();
        assert!(e.message.contains("twice"));
        let e = parse("\"abc", 0).unwrap_err();
        assert!(e.message.contains("unterminated"));
        let e = parse("(a: 1) x", 0).unwrap_err();
        assert_eq!(e.span.col, 8);
    }
}
