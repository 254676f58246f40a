//! Fuzz target: a contacts file of any bytes — a CSV in any encoding and separator, or what
//! looks like a spreadsheet package (xlsx, xls, ods) — is read into contacts or refused with an
//! error, never a panic, within the import's limits; every contact read has a number, and the
//! report lists no more problems than it counts.
#![no_main]
use autoinformer::import::{read_contacts, ImportLimits, ImportedContact};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Limits a server would set, small enough that libFuzzer's memory limit is never the
    // one that stops a file.
    let limits = ImportLimits {
        max_bytes: 4 << 20,
        max_unpacked_bytes: 32 << 20,
        max_rows: 100_000,
        max_row_bytes: 64 << 10,
        max_shared_strings: 100_000,
        max_shared_string_bytes: 16 << 20,
        max_sheet_memory: 32 << 20,
        max_listed_problems: 20,
        ..ImportLimits::default()
    };
    let mut read = 0u64;
    let sink = |c: ImportedContact| {
        assert!(!c.numbers.is_empty(), "a contact without a number: {c:?}");
        read += 1;
        true
    };
    if let Ok(report) = read_contacts(data, limits, sink) {
        assert!(report.rejected.len() <= 20, "{report:?}");
        assert!(
            report.rejected_total >= report.rejected.len() as u64,
            "{report:?}"
        );
        assert!(report.imported <= read, "{report:?} after {read} contacts");
    }
});
