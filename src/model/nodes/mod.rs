//! The node kinds' schemas, one module per kind of `kinds.rs`: each defines what a file
//! may say of its kind (fields, their docs and defaults) and validates it into its actor's
//! configuration, with every error located in the file.

use super::build::*;
use super::spec::*;
use serde::Deserialize;

/// A node kind's schema: validated and resolved (names to ids, durations to nanoseconds)
/// into its actor's configuration.
pub(super) trait Schema {
    type Config;

    /// Checks the node `name` and builds its configuration; errors point into the file.
    fn build(&self, cx: &Cx, name: &str) -> Result<Self::Config, Error>;
}

/// The `Node` enum of files, one variant per kind, and its dispatch to the kinds' schemas.
macro_rules! schema {
    ($( $(#[$doc:meta])* $kind:ident : $smod:ident :: $sty:ident => $amod:ident :: $aty:ident, )*) => {
        $( pub mod $smod; )*
        $( pub use $smod::*; )*

        /// A node of the model, by kind.
        #[derive(Deserialize, Debug, Clone)]
        #[serde(deny_unknown_fields)]
        // Read once per file: the size difference between variants does not matter.
        #[allow(clippy::large_enum_variant)]
        pub enum Node {
            $( $(#[$doc])* $kind($smod::$sty), )*
        }

        impl Node {
            /// Validates the node `name` and builds its actor's configuration.
            pub(in crate::model) fn build(&self, cx: &Cx, name: &str) -> Result<ActorConfig, Error> {
                Ok(match self {
                    $( Node::$kind(s) => ActorConfig::$kind(s.build(cx, name)?), )*
                })
            }
        }
    };
}
crate::kinds::node_kinds!(schema);
