//! The import's answer (`{imported, duplicates, rejected, …}`, docs/api.md) and the
//! bookkeeping that keeps it small however bad the file: the first problems are listed in full
//! (values cut to a readable length), every problem is counted in total and by kind, and a few
//! notes say in words what the user should know about the import as a whole.
use serde::Serialize;
use std::collections::BTreeMap;

/// A refused value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub row: u64,
    /// The value as the file has it, cut to `VALUE_CHARS` characters (`…` marks a cut; control
    /// characters shown as `�`).
    pub value: String,
    /// A stable code for the kind of problem: the keys of `ImportReport::rejected_by_reason`.
    pub kind: &'static str,
    pub reason: String,
}

/// The import's answer. `rejected` lists the first problems only; `rejected_total` and
/// `rejected_by_reason` count them all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub imported: u64,
    pub duplicates: u64,
    /// The first problems in file order, at most `ImportLimits::max_listed_problems`.
    pub rejected: Vec<RowProblem>,
    /// Every problem, listed or not.
    pub rejected_total: u64,
    /// `rejected` holds fewer problems than `rejected_total`.
    pub rejected_truncated: bool,
    /// Every problem counted by its `kind`.
    pub rejected_by_reason: BTreeMap<&'static str, u64>,
    /// Numbers imported without the extension typed after them, which went to the contact
    /// field `EXTENSION_FIELD`.
    pub extensions: u64,
    /// What the user should know about the import as a whole, in words.
    pub notes: Vec<String>,
    /// Every problem since the last row was handed on, when the reader's sink wants them all
    /// (`ContactSink::wants_every_problem`); `None` otherwise and once the file is read.
    #[serde(skip)]
    pub(crate) every: Option<Vec<RowProblem>>,
}

/// The contact field an extension typed after a number goes to (`+7 495 … доб. 123`).
pub const EXTENSION_FIELD: &str = "добавочный";

/// Characters of a refused value shown in the answer.
pub const VALUE_CHARS: usize = 80;
/// And at most this many bytes of it (Cyrillic takes two).
const VALUE_BYTES: usize = 200;

/// `value` cut for the answer: at most `VALUE_CHARS` characters and `VALUE_BYTES` bytes, then
/// `…`; control characters (a garbage file is full of them, and JSON spells each in six bytes)
/// become `�`.
pub fn shown_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(VALUE_BYTES + 3));
    for (n, c) in value.chars().enumerate() {
        if n == VALUE_CHARS || out.len() + c.len_utf8() > VALUE_BYTES {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { '\u{fffd}' } else { c });
    }
    out
}

impl ImportReport {
    /// Records a problem: counted always, listed while fewer than `listed_max` are. `reason`
    /// is made only for a listed one.
    pub(crate) fn problem(
        &mut self,
        listed_max: usize,
        row: u64,
        value: &str,
        kind: &'static str,
        reason: impl FnOnce() -> String,
    ) {
        self.rejected_total += 1;
        *self.rejected_by_reason.entry(kind).or_default() += 1;
        if let Some(every) = self.every.as_mut() {
            let p = RowProblem {
                row,
                value: shown_value(value),
                kind,
                reason: reason(),
            };
            if self.rejected.len() < listed_max {
                self.rejected.push(p.clone());
            } else {
                self.rejected_truncated = true;
            }
            every.push(p);
            return;
        }
        if self.rejected.len() < listed_max {
            self.rejected.push(RowProblem {
                row,
                value: shown_value(value),
                kind,
                reason: reason(),
            });
        } else {
            self.rejected_truncated = true;
        }
    }

    /// Writes the notes once the file has been read.
    pub(crate) fn finish(&mut self) {
        self.every = None;
        if self.rejected_truncated {
            self.notes.push(format!(
                "only the first {} of {} problems are listed; rejected_by_reason counts them all \
                 by kind: fix the first ones and import the file again to see the next",
                self.rejected.len(),
                self.rejected_total
            ));
        }
        if self.extensions > 0 {
            self.notes.push(format!(
                "{} numbers had an extension typed after them (доб., ext.): the number was \
                 imported and the extension kept in the contact field «{EXTENSION_FIELD}»; the \
                 robot does not dial extensions",
                self.extensions
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_cut_and_control_characters_hidden() {
        assert_eq!(shown_value("+7 912"), "+7 912");
        let long = "я".repeat(500);
        let shown = shown_value(&long);
        assert!(
            shown.ends_with('…') && shown.len() <= VALUE_BYTES + 3,
            "{shown}"
        );
        assert_eq!(
            shown_value(&"a".repeat(VALUE_CHARS)),
            "a".repeat(VALUE_CHARS)
        );
        assert_eq!(
            shown_value(&"a".repeat(VALUE_CHARS + 1)),
            "a".repeat(VALUE_CHARS) + "…"
        );
        assert_eq!(shown_value("a\u{0}b\u{1b}"), "a\u{fffd}b\u{fffd}");
    }

    #[test]
    fn problems_past_the_listed_ones_are_counted_only() {
        let mut r = ImportReport::default();
        for row in 0..10 {
            r.problem(3, row, "x", if row % 2 == 0 { "a" } else { "b" }, || {
                "why".into()
            });
        }
        r.finish();
        assert_eq!((r.rejected.len(), r.rejected_total), (3, 10));
        assert!(r.rejected_truncated);
        assert_eq!(r.rejected_by_reason["a"], 5);
        assert_eq!(r.rejected_by_reason["b"], 5);
        assert!(r.notes[0].contains("first 3 of 10"), "{:?}", r.notes);
    }
}
