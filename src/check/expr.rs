//! The expectation language: comparisons of metric expressions.
//!
//! ```text
//! expect   := quant | trend | compare
//! quant    := ("all" | "any") "(" compare ")"
//! trend    := ("increasing" | "decreasing") "(" sum ")"
//! compare  := sum op sum ["±" sum]          op: < <= > >= == "significantly <" "significantly >"
//! sum      := product (("+" | "-") product)*
//! product  := unary (("*" | "/") unary)*
//! unary    := "-" unary | atom
//! atom     := number | metric | "(" sum ")"
//! metric   := name ("." name)*               [variant.][node.]metric
//! ```
//!
//! Errors carry the column (1-based) where the problem is.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Num(f64),
    /// A dotted metric reference and the column it starts at.
    Metric(Vec<String>, usize),
    Neg(Box<Expr>),
    Bin(Box<Expr>, char, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    SigLt,
    SigGt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    /// No quantifier: the experiment must have one sweep point.
    One,
    All,
    Any,
    /// `increasing(x)` / `decreasing(x)` (`op` `>` or `<`; `right` is `left`): along the
    /// sweep's points never against the trend from one to the next, and the last beyond
    /// the first (a plateau, such as none left to time out, does not break it).
    Trend,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    pub text: String,
    pub quantifier: Quantifier,
    pub left: Expr,
    pub op: Op,
    pub right: Expr,
    /// For `==`: the allowed difference.
    pub tolerance: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.col, self.message)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::SigLt => "significantly <",
            Op::SigGt => "significantly >",
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Name(String),
    Sym(&'static str),
}

fn lex(s: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || chars[i] == '_'
                    || ((chars[i] == 'e' || chars[i] == 'E') && i + 1 < chars.len())
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
            let x = text.parse::<f64>().map_err(|_| ParseError {
                col,
                message: format!("`{text}` is not a number"),
            })?;
            out.push((Tok::Num(x), col));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '-')
            {
                i += 1;
            }
            out.push((Tok::Name(chars[start..i].iter().collect()), col));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let sym = match two.as_str() {
            "<=" => Some("<="),
            ">=" => Some(">="),
            "==" => Some("=="),
            "+-" => Some("±"),
            _ => None,
        };
        if let Some(sym) = sym {
            out.push((Tok::Sym(sym), col));
            i += 2;
            continue;
        }
        let sym = match c {
            '<' => "<",
            '>' => ">",
            '+' => "+",
            '-' => "-",
            '*' => "*",
            '/' => "/",
            '(' => "(",
            ')' => ")",
            '.' => ".",
            '±' => "±",
            _ => {
                return Err(ParseError {
                    col,
                    message: format!("unexpected `{c}`"),
                })
            }
        };
        out.push((Tok::Sym(sym), col));
        i += 1;
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end_col: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }

    fn col(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end_col, |t| t.1)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            col: self.col(),
            message: message.into(),
        })
    }

    fn eat(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "the end".into(),
            Some(Tok::Num(x)) => format!("`{x}`"),
            Some(Tok::Name(n)) => format!("`{n}`"),
            Some(Tok::Sym(s)) => format!("`{s}`"),
        }
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.product()?;
        loop {
            let op = if self.eat("+") {
                '+'
            } else if self.eat("-") {
                '-'
            } else {
                return Ok(e);
            };
            e = Expr::Bin(Box::new(e), op, Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.unary()?;
        loop {
            let op = if self.eat("*") {
                '*'
            } else if self.eat("/") {
                '/'
            } else {
                return Ok(e);
            };
            e = Expr::Bin(Box::new(e), op, Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, ParseError> {
        let col = self.col();
        match self.peek().cloned() {
            Some(Tok::Num(x)) => {
                self.pos += 1;
                Ok(Expr::Num(x))
            }
            Some(Tok::Name(n)) => {
                self.pos += 1;
                let mut path = vec![n];
                while self.eat(".") {
                    match self.peek().cloned() {
                        Some(Tok::Name(n)) => {
                            self.pos += 1;
                            path.push(n);
                        }
                        _ => {
                            return self
                                .err(format!("expected a name after `.`, found {}", self.found()))
                        }
                    }
                }
                Ok(Expr::Metric(path, col))
            }
            Some(Tok::Sym("(")) => {
                self.pos += 1;
                let e = self.sum()?;
                if !self.eat(")") {
                    return self.err(format!("expected `)`, found {}", self.found()));
                }
                Ok(e)
            }
            _ => self.err(format!(
                "expected a number, a metric or `(`, found {}",
                self.found()
            )),
        }
    }

    fn op(&mut self) -> Result<Op, ParseError> {
        if matches!(self.peek(), Some(Tok::Name(n)) if n == "significantly") {
            self.pos += 1;
            return if self.eat("<") {
                Ok(Op::SigLt)
            } else if self.eat(">") {
                Ok(Op::SigGt)
            } else {
                self.err(format!(
                    "expected `<` or `>` after `significantly`, found {}",
                    self.found()
                ))
            };
        }
        for (sym, op) in [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ] {
            if self.eat(sym) {
                return Ok(op);
            }
        }
        self.err(format!(
            "expected a comparison (<, <=, >, >=, ==, significantly <, significantly >), found {}",
            self.found()
        ))
    }

    fn compare(&mut self, text: &str, quantifier: Quantifier) -> Result<Expectation, ParseError> {
        let left = self.sum()?;
        let op = self.op()?;
        let right = self.sum()?;
        let tol_col = self.col();
        let tolerance = if self.eat("±") {
            if op != Op::Eq {
                return Err(ParseError {
                    col: tol_col,
                    message: "a tolerance `±` goes with `==` only".into(),
                });
            }
            Some(self.sum()?)
        } else {
            None
        };
        Ok(Expectation {
            text: text.to_string(),
            quantifier,
            left,
            op,
            right,
            tolerance,
        })
    }
}

/// Parses one `expect` line.
pub fn parse(text: &str) -> Result<Expectation, ParseError> {
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end_col: text.chars().count() + 1,
    };
    let quantifier = match (p.peek().cloned(), p.toks.get(p.pos + 1).map(|t| &t.0)) {
        (Some(Tok::Name(n)), Some(Tok::Sym("("))) if n == "all" || n == "any" => {
            p.pos += 2;
            if n == "all" {
                Quantifier::All
            } else {
                Quantifier::Any
            }
        }
        (Some(Tok::Name(n)), Some(Tok::Sym("("))) if n == "increasing" || n == "decreasing" => {
            p.pos += 2;
            let x = p.sum()?;
            if !p.eat(")") {
                return p.err(format!("expected `)` closing `{n}(`, found {}", p.found()));
            }
            if p.pos < p.toks.len() {
                return p.err(format!("unexpected {} after the expectation", p.found()));
            }
            return Ok(Expectation {
                text: text.to_string(),
                quantifier: Quantifier::Trend,
                left: x.clone(),
                op: if n == "increasing" { Op::Gt } else { Op::Lt },
                right: x,
                tolerance: None,
            });
        }
        _ => Quantifier::One,
    };
    let e = p.compare(text, quantifier)?;
    if quantifier != Quantifier::One && !p.eat(")") {
        return p.err(format!(
            "expected `)` closing the quantifier, found {}",
            p.found()
        ));
    }
    if p.pos < p.toks.len() {
        return p.err(format!("unexpected {} after the expectation", p.found()));
    }
    Ok(e)
}

/// Parses a metric expression with no comparison (a plan's objective).
pub fn parse_expr(text: &str) -> Result<Expr, ParseError> {
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end_col: text.chars().count() + 1,
    };
    let e = p.sum()?;
    if p.pos < p.toks.len() {
        return p.err(format!("unexpected {} after the expression", p.found()));
    }
    Ok(e)
}

impl Expr {
    /// Every metric path the expression reads, with its column.
    pub fn metrics(&self) -> Vec<(&[String], usize)> {
        match self {
            Expr::Num(_) => Vec::new(),
            Expr::Metric(p, c) => vec![(p.as_slice(), *c)],
            Expr::Neg(x) => x.metrics(),
            Expr::Bin(a, _, b) => {
                let mut m = a.metrics();
                m.extend(b.metrics());
                m
            }
        }
    }
}

impl Expectation {
    /// Every metric path the comparison reads, with its column.
    pub fn metrics(&self) -> Vec<(&[String], usize)> {
        let mut m = self.left.metrics();
        if self.quantifier != Quantifier::Trend {
            m.extend(self.right.metrics());
        }
        if let Some(t) = &self.tolerance {
            m.extend(t.metrics());
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(path: &str, col: usize) -> Expr {
        Expr::Metric(path.split('.').map(String::from).collect(), col)
    }

    #[test]
    fn precedence_and_associativity() {
        let e = parse("a + b * 2 - c / 4 < 1").unwrap();
        let want = Expr::Bin(
            Box::new(Expr::Bin(
                Box::new(m("a", 1)),
                '+',
                Box::new(Expr::Bin(
                    Box::new(m("b", 5)),
                    '*',
                    Box::new(Expr::Num(2.0)),
                )),
            )),
            '-',
            Box::new(Expr::Bin(
                Box::new(m("c", 13)),
                '/',
                Box::new(Expr::Num(4.0)),
            )),
        );
        assert_eq!(e.left, want);
        let e = parse("-(a - b) * 0.5 >= -1e-3").unwrap();
        assert_eq!(
            e.left,
            Expr::Bin(
                Box::new(Expr::Neg(Box::new(Expr::Bin(
                    Box::new(m("a", 3)),
                    '-',
                    Box::new(m("b", 7))
                )))),
                '*',
                Box::new(Expr::Num(0.5))
            )
        );
        assert_eq!(e.right, Expr::Neg(Box::new(Expr::Num(1e-3))));
    }

    #[test]
    fn every_operator_and_quantifier() {
        for (text, op) in [
            ("x < 1", Op::Lt),
            ("x <= 1", Op::Le),
            ("x > 1", Op::Gt),
            ("x >= 1", Op::Ge),
            ("x == 1", Op::Eq),
            ("x significantly < y", Op::SigLt),
            ("x significantly > y", Op::SigGt),
        ] {
            assert_eq!(parse(text).unwrap().op, op, "{text}");
        }
        let e = parse("budgeted.app.utilization == 0.5 ± 0.05").unwrap();
        assert_eq!(e.left, m("budgeted.app.utilization", 1));
        assert_eq!(e.tolerance, Some(Expr::Num(0.05)));
        assert_eq!(
            parse("x == 1 +- 0.1").unwrap().tolerance,
            Some(Expr::Num(0.1))
        );
        assert_eq!(parse("all(x < 1)").unwrap().quantifier, Quantifier::All);
        assert_eq!(parse("any(x < 1)").unwrap().quantifier, Quantifier::Any);
        assert_eq!(parse("x < 1").unwrap().quantifier, Quantifier::One);
        // A metric named like a quantifier is still a metric.
        assert_eq!(parse("all < 1").unwrap().left, m("all", 1));
        let e = parse("increasing(a.throughput_rps / 2)").unwrap();
        assert_eq!(e.quantifier, Quantifier::Trend);
        assert_eq!((e.op, e.left.clone()), (Op::Gt, e.right.clone()));
        assert_eq!(e.metrics().len(), 1);
        assert_eq!(parse("decreasing(x)").unwrap().op, Op::Lt);
        assert_eq!(parse("increasing < 1").unwrap().left, m("increasing", 1));
    }

    #[test]
    fn errors_point_at_their_column() {
        let cases = [
            ("x < ", 5, "expected a number"),
            ("x 1", 3, "expected a comparison"),
            ("x < 1 ± 2", 7, "goes with `==` only"),
            ("all(x < 1", 10, "closing the quantifier"),
            ("x < (1 + 2", 11, "expected `)`"),
            ("x.  < 1", 5, "expected a name after `.`"),
            ("x < 1 y", 7, "unexpected `y`"),
            ("x # 1", 3, "unexpected `#`"),
            ("increasing(x", 13, "closing `increasing(`"),
            ("decreasing(x) > 1", 15, "unexpected `>`"),
            (
                "x significantly <= 1",
                17,
                "expected `<` or `>` after `significantly`",
            ),
        ];
        for (text, col, msg) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.col, col, "{text}: {e}");
            assert!(e.message.contains(msg), "{text}: {e}");
        }
    }
}
