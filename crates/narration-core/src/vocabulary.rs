//! How a crate declares the words it narrates: its actor and, for each
//! action, the name, the level `narrate()` emits it at and what it means.
//!
//! This crate owns the mechanism only. Each crate that narrates declares
//! its own [`Vocabulary`] with [`vocabulary!`] (model-provisioner's
//! `actions`, engine-provisioner's `actions`, the CLI's doctor), and a
//! program lists the vocabularies it links in a [`Registry`]: the test
//! that holds `specs/narration-events.md` to the code reads that registry.

use crate::emit::NarrationLevel;

/// One action of an actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionSpec {
    /// The kebab-case name narrated as `action`.
    pub name: &'static str,
    /// The level it is emitted at; [`NarrationLevel::for_action`] of
    /// `name` must agree (a test checks every registered action).
    pub level: NarrationLevel,
    /// What it means and which fields it carries (the constant's doc).
    pub doc: &'static str,
}

/// An actor and every action it narrates, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vocabulary {
    /// The name narrated as `actor`.
    pub actor: &'static str,
    /// Its actions.
    pub actions: &'static [ActionSpec],
}

impl Vocabulary {
    /// The action named `name`, when this actor has one.
    pub fn action(&self, name: &str) -> Option<&'static ActionSpec> {
        self.actions.iter().find(|a| a.name == name)
    }
}

/// The vocabularies of a program, one per actor.
///
/// ```
/// use narration_core::{NarrationLevel, Registry, vocabulary};
/// mod actions {
///     narration_core::vocabulary! {
///         /// Actions of the example.
///         actor "example";
///         /// The work began.
///         START = "start", Info;
///         /// The work gave up.
///         START_FAILED = "start-failed", Error;
///     }
/// }
/// let registry = Registry::new(&[&actions::VOCABULARY]);
/// assert!(registry.contains("example", actions::START));
/// assert!(!registry.contains("example", "teleport"));
/// assert_eq!(registry.action("example", "start-failed").unwrap().level, NarrationLevel::Error);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Registry {
    vocabularies: &'static [&'static Vocabulary],
}

impl Registry {
    /// A registry of these vocabularies.
    pub const fn new(vocabularies: &'static [&'static Vocabulary]) -> Self {
        Self { vocabularies }
    }

    /// Every vocabulary, in the order given.
    pub fn vocabularies(&self) -> &'static [&'static Vocabulary] {
        self.vocabularies
    }

    /// The vocabulary of `actor`.
    pub fn actor(&self, actor: &str) -> Option<&'static Vocabulary> {
        self.vocabularies.iter().copied().find(|v| v.actor == actor)
    }

    /// The action `action` of `actor`.
    pub fn action(&self, actor: &str, action: &str) -> Option<&'static ActionSpec> {
        self.actor(actor)?.action(action)
    }

    /// True when `actor` declares `action`.
    pub fn contains(&self, actor: &str, action: &str) -> bool {
        self.action(actor, action).is_some()
    }
}

/// Declares an actor's vocabulary in the module it is invoked in: a
/// `pub const ACTOR`, a `pub const` per action (with its doc comment),
/// `ALL` (every action name, in order) and `VOCABULARY` (the
/// [`Vocabulary`], docs and levels included). The level is a
/// [`NarrationLevel`] variant: `Info`, `Warn` or `Error`.
///
/// ```
/// narration_core::vocabulary! {
///     /// Actions of the example.
///     actor "example";
///     /// The work began.
///     START = "start", Info;
/// }
/// assert_eq!(ACTOR, "example");
/// assert_eq!(ALL, ["start"]);
/// assert_eq!(VOCABULARY.actions[0].doc.trim(), "The work began.");
/// ```
#[macro_export]
macro_rules! vocabulary {
    (
        $(#[doc = $vdoc:literal])*
        actor $actor:literal;
        $(
            $(#[doc = $doc:literal])*
            $name:ident = $value:literal, $level:ident;
        )*
    ) => {
        /// The actor name these actions are narrated under.
        pub const ACTOR: &str = $actor;
        $(
            $(#[doc = $doc])*
            pub const $name: &str = $value;
        )*
        /// Every action, in lifecycle order.
        pub const ALL: &[&str] = &[$($name),*];
        $(#[doc = $vdoc])*
        pub const VOCABULARY: $crate::Vocabulary = $crate::Vocabulary {
            actor: ACTOR,
            actions: &[$(
                $crate::ActionSpec {
                    name: $name,
                    level: $crate::NarrationLevel::$level,
                    doc: concat!($($doc, "\n"),*),
                }
            ),*],
        };
    };
}
