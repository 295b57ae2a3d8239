//! Turns a [`Node`] tree into typed settings through serde, keeping locations in errors.
//!
//! Every error raised while a value is being read is tagged with that value's location unless
//! a deeper value already tagged it, so the innermost position wins.

use super::syntax::{Field, Kind, Node, Span};
use serde::de::{self, DeserializeSeed, Visitor};
use std::fmt;

/// An error in a model or experiment, with the location of the offending value when known.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    pub span: Option<Span>,
    pub message: String,
    /// Further errors found in the same pass (validation reports every node's).
    pub also: Vec<Error>,
}

impl Error {
    pub fn new(span: Option<Span>, message: impl Into<String>) -> Self {
        Error {
            span,
            message: message.into(),
            also: Vec::new(),
        }
    }

    /// One error for all of `errors` (at least one), in the order they were written.
    pub fn all(mut errors: Vec<Error>) -> Option<Error> {
        let key = |e: &Error| {
            e.span
                .map_or((u32::MAX, 0, 0), |s| (s.source, s.line, s.col))
        };
        errors.sort_by_key(key);
        let mut errors = errors.into_iter();
        let mut first = errors.next()?;
        first.also.extend(errors);
        Some(first)
    }

    pub fn at(span: Span, message: impl Into<String>) -> Self {
        Self::new(Some(span), message)
    }

    /// Tags the error with `span` unless it already has a location.
    pub fn or_at(mut self, span: Span) -> Self {
        self.span.get_or_insert(span);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::new(None, msg.to_string())
    }
}

/// Reads a `T` from `node`.
pub fn from_node<'de, T: de::Deserialize<'de>>(node: &'de Node) -> Result<T, Error> {
    T::deserialize(node).map_err(|e| e.or_at(node.span))
}

type R<T> = Result<T, Error>;

impl<'de> de::Deserializer<'de> for &'de Node {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        let span = self.span;
        match &self.kind {
            Kind::Bool(b) => v.visit_bool(*b),
            Kind::Int(i) => v.visit_i64(*i),
            Kind::UInt(u) => v.visit_u64(*u),
            Kind::Float(x) => v.visit_f64(*x),
            Kind::Str(s) => v.visit_borrowed_str(s),
            Kind::Ident(s) if s == "None" => v.visit_none(),
            Kind::Ident(s) => v.visit_borrowed_str(s),
            Kind::Tuple(Some(n), items) if n == "Some" && items.len() == 1 => {
                v.visit_some(&items[0])
            }
            Kind::Tuple(_, items) | Kind::List(items) => v.visit_seq(Seq {
                items: items.iter(),
            }),
            Kind::Struct(_, fields) => v.visit_map(Fields::new(fields)),
            Kind::Map(entries) => v.visit_map(Entries::new(entries)),
        }
        .map_err(|e| e.or_at(span))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        match &self.kind {
            Kind::Int(i) => v.visit_f64(*i as f64),
            Kind::UInt(u) => v.visit_f64(*u as f64),
            _ => self.deserialize_any(v),
        }
        .map_err(|e| e.or_at(self.span))
    }

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        self.deserialize_f64(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        match &self.kind {
            Kind::Ident(s) if s == "None" => v.visit_none(),
            Kind::Tuple(Some(n), items) if n == "Some" && items.len() == 1 => {
                v.visit_some(&items[0])
            }
            // A bare value where an option is expected means `Some(value)`.
            _ => v.visit_some(self),
        }
        .map_err(|e| e.or_at(self.span))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        match &self.kind {
            Kind::Struct(None, f) if f.is_empty() => v.visit_unit(),
            _ => Err(Error::at(
                self.span,
                format!("expected `()`, found {}", self.describe()),
            )),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, v: V) -> R<V::Value> {
        match &self.kind {
            Kind::Ident(_) | Kind::Struct(_, _) => v.visit_unit(),
            _ => Err(Error::at(
                self.span,
                format!("expected a unit value, found {}", self.describe()),
            )),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, v: V) -> R<V::Value> {
        match &self.kind {
            Kind::Tuple(_, items) if items.len() == 1 => v.visit_newtype_struct(&items[0]),
            _ => v.visit_newtype_struct(self),
        }
        .map_err(|e| e.or_at(self.span))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        match &self.kind {
            Kind::List(items) | Kind::Tuple(None, items) => v.visit_seq(Seq {
                items: items.iter(),
            }),
            Kind::Struct(None, f) if f.is_empty() => v.visit_seq(Seq { items: [].iter() }),
            _ => Err(Error::at(
                self.span,
                format!("expected a list `[...]`, found {}", self.describe()),
            )),
        }
        .map_err(|e| e.or_at(self.span))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> R<V::Value> {
        match &self.kind {
            Kind::List(items) | Kind::Tuple(_, items) => v.visit_seq(Seq {
                items: items.iter(),
            }),
            _ => Err(Error::at(
                self.span,
                format!("expected a tuple `(...)`, found {}", self.describe()),
            )),
        }
        .map_err(|e| e.or_at(self.span))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        v: V,
    ) -> R<V::Value> {
        self.deserialize_tuple(len, v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        match &self.kind {
            Kind::Map(entries) => v.visit_map(Entries::new(entries)),
            Kind::Struct(None, f) if f.is_empty() => v.visit_map(Entries::new(&[])),
            _ => Err(Error::at(
                self.span,
                format!("expected a map `{{...}}`, found {}", self.describe()),
            )),
        }
        .map_err(|e| e.or_at(self.span))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> R<V::Value> {
        match &self.kind {
            // The name before `(` is optional and not checked against the Rust type's: in
            // `Client(target: "app")` it names the enum variant that wraps the struct.
            Kind::Struct(_, fields) => v.visit_map(Fields::new(fields)),
            _ => Err(Error::at(
                self.span,
                format!(
                    "expected a struct `{name}(field: value, ...)`, found {}",
                    self.describe()
                ),
            )),
        }
        .map_err(|e| e.or_at(self.span))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> R<V::Value> {
        let (variant, content) = match &self.kind {
            Kind::Ident(s) | Kind::Str(s) => (s.as_str(), Content::None),
            Kind::Tuple(Some(n), items) => (n.as_str(), Content::Items(items)),
            Kind::Struct(Some(n), fields) => (n.as_str(), Content::Fields(fields)),
            _ => {
                return Err(Error::at(
                    self.span,
                    format!(
                        "expected one of {} ({name}), found {}",
                        list(variants),
                        self.describe()
                    ),
                ))
            }
        };
        v.visit_enum(Enum {
            node: self,
            variant,
            content,
        })
        .map_err(|e| e.or_at(self.span))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        match &self.kind {
            Kind::Ident(s) | Kind::Str(s) => v.visit_borrowed_str(s),
            _ => Err(Error::at(
                self.span,
                format!("expected a name, found {}", self.describe()),
            )),
        }
        .map_err(|e| e.or_at(self.span))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        v.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char str string bytes byte_buf
    }
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Seq<'de> {
    items: std::slice::Iter<'de, Node>,
}

impl<'de> de::SeqAccess<'de> for Seq<'de> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> R<Option<T::Value>> {
        match self.items.next() {
            Some(n) => seed.deserialize(n).map(Some).map_err(|e| e.or_at(n.span)),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// Struct fields, read as a map from field name to value.
struct Fields<'de> {
    fields: std::slice::Iter<'de, Field>,
    value: Option<&'de Node>,
}

impl<'de> Fields<'de> {
    fn new(fields: &'de [Field]) -> Self {
        Fields {
            fields: fields.iter(),
            value: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for Fields<'de> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> R<Option<K::Value>> {
        let Some(f) = self.fields.next() else {
            return Ok(None);
        };
        self.value = Some(&f.value);
        let key = de::value::BorrowedStrDeserializer::<Error>::new(f.name.as_str());
        seed.deserialize(key)
            .map(Some)
            .map_err(|e| e.or_at(f.name_span))
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> R<V::Value> {
        let n = self.value.take().expect("value asked before key");
        seed.deserialize(n).map_err(|e| e.or_at(n.span))
    }
}

struct Entries<'de> {
    entries: std::slice::Iter<'de, (Node, Node)>,
    value: Option<&'de Node>,
}

impl<'de> Entries<'de> {
    fn new(entries: &'de [(Node, Node)]) -> Self {
        Entries {
            entries: entries.iter(),
            value: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for Entries<'de> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> R<Option<K::Value>> {
        let Some((k, v)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(v);
        seed.deserialize(k).map(Some).map_err(|e| e.or_at(k.span))
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> R<V::Value> {
        let n = self.value.take().expect("value asked before key");
        seed.deserialize(n).map_err(|e| e.or_at(n.span))
    }
}

enum Content<'de> {
    None,
    Items(&'de [Node]),
    Fields(&'de [Field]),
}

struct Enum<'de> {
    node: &'de Node,
    variant: &'de str,
    content: Content<'de>,
}

impl<'de> de::EnumAccess<'de> for Enum<'de> {
    type Error = Error;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> R<(V::Value, Self)> {
        let key = de::value::BorrowedStrDeserializer::<Error>::new(self.variant);
        let v = seed.deserialize(key).map_err(|e| e.or_at(self.node.span))?;
        Ok((v, self))
    }
}

impl<'de> de::VariantAccess<'de> for Enum<'de> {
    type Error = Error;

    fn unit_variant(self) -> R<()> {
        match self.content {
            Content::None => Ok(()),
            Content::Fields([]) => Ok(()),
            _ => Err(Error::at(
                self.node.span,
                format!("`{}` takes no value: write it alone", self.variant),
            )),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> R<T::Value> {
        match self.content {
            Content::Items([one]) => seed.deserialize(one).map_err(|e| e.or_at(one.span)),
            // `Client(target: "app")`: the variant's fields are the wrapped struct's.
            Content::Fields(_) => seed.deserialize(self.node),
            _ => Err(Error::at(
                self.node.span,
                format!("`{}` needs one value in parentheses", self.variant),
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> R<V::Value> {
        match self.content {
            Content::Items(items) => v.visit_seq(Seq {
                items: items.iter(),
            }),
            _ => Err(Error::at(
                self.node.span,
                format!("`{}` needs {len} values in parentheses", self.variant),
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], v: V) -> R<V::Value> {
        match self.content {
            Content::Fields(f) => v.visit_map(Fields::new(f)),
            // A bare variant name: every field takes its default, or serde says which is missing.
            Content::None => v.visit_map(Fields::new(&[])),
            Content::Items(_) => Err(Error::at(
                self.node.span,
                format!(
                    "`{}` needs named fields: {}(field: value, ...) with fields {}",
                    self.variant,
                    self.variant,
                    list(fields)
                ),
            )),
        }
    }
}
