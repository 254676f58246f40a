//! Contact import from CSV (spec §2, §9; issue 4): UTF-8 (with or without BOM) or Windows-1251
//! detected from the bytes, `;` or `,` sniffed from the header line, columns mapped by Russian
//! or English names (телефон/phone, имя/name, приоритет/priority; every other column is kept as
//! a contact field), several numbers per contact, numbers normalised to Russian E.164, and a
//! per-row report `{row, value, reason}` for everything refused. Streams: memory stays bounded
//! by one row plus the set of numbers seen (for merging duplicates within the file).
use super::phone::{normalize_ru, RuNumber};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read};

/// One contact read from a row.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedContact {
    /// 1-based data row (the header is row 1, the first contact row 2 — as a spreadsheet shows).
    pub row: u64,
    pub name: Option<String>,
    /// Normalised numbers, in the row's column order, without duplicates.
    pub numbers: Vec<RuNumber>,
    pub priority: i32,
    /// Every other column: header → value.
    pub fields: BTreeMap<String, String>,
}

/// A refused value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub row: u64,
    pub value: String,
    pub reason: String,
}

/// The import's answer (spec §10: `{imported, duplicates, rejected}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub imported: u64,
    pub duplicates: u64,
    pub rejected: Vec<RowProblem>,
}

/// Why a whole file cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("no phone column: the header {0:?} has none named телефон/phone/номер/тел/мобильный")]
    NoPhoneColumn(Vec<String>),
    #[error("the file is larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("row {row}: {reason}")]
    Csv { row: u64, reason: String },
}

/// Limits of one import.
#[derive(Debug, Clone, Copy)]
pub struct ImportLimits {
    pub max_bytes: u64,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self { max_bytes: 2 << 30 }
    }
}

/// The role of a column, from its header.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Phone,
    Name,
    Priority,
    Field(String),
}

fn classify(header: &str) -> Column {
    let h = header.trim().to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| h.contains(w));
    // "номер" alone is a phone column; "номер договора" is not.
    let bare = h.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == '.');
    if has(&["телефон", "phone", "мобильн", "mobile", "msisdn"])
        || matches!(bare, "тел" | "номер" | "tel")
    {
        Column::Phone
    } else if has(&["фио", "имя", "name", "клиент", "абонент"]) {
        Column::Name
    } else if has(&["приоритет", "priority"]) {
        Column::Priority
    } else {
        Column::Field(header.trim().to_string())
    }
}

/// Counts bytes read, failing past the limit (huge files are refused while streaming).
struct Limited<R> {
    inner: R,
    read: u64,
    max: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.max {
            return Err(std::io::Error::other(format!("limit {}", self.max)));
        }
        Ok(n)
    }
}

/// Reads a CSV and hands each contact to `sink`, which answers whether it was new (false:
/// the store merged it into an existing contact). Numbers already seen in this file merge too.
pub fn read_csv<R: Read>(
    input: R,
    limits: ImportLimits,
    mut sink: impl FnMut(ImportedContact) -> bool,
) -> Result<ImportReport, ImportError> {
    let mut reader = BufReader::with_capacity(
        64 * 1024,
        Limited {
            inner: input,
            read: 0,
            max: limits.max_bytes,
        },
    );
    let head = match reader.fill_buf() {
        Ok(h) => h,
        Err(e) if e.kind() == std::io::ErrorKind::Other => {
            return Err(ImportError::TooLarge(limits.max_bytes))
        }
        Err(e) => return Err(e.into()),
    };
    if head.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::Empty);
    }
    // UTF-8 if the first block decodes (allowing a character cut at its end), else CP1251.
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    let first_line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let first_line = &head[..first_line_end];
    let semi = first_line.iter().filter(|&&b| b == b';').count();
    let comma = first_line.iter().filter(|&&b| b == b',').count();
    let delimiter = if semi >= comma { b';' } else { b',' };
    let encoding = if utf8 {
        encoding_rs::UTF_8
    } else {
        encoding_rs::WINDOWS_1251
    };
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_sniffing(true)
        .build(reader);
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(decoded);
    let csv_err = |row: u64, e: csv::Error| -> ImportError {
        if let csv::ErrorKind::Io(io) = e.kind() {
            if io.kind() == std::io::ErrorKind::Other {
                return ImportError::TooLarge(limits.max_bytes);
            }
        }
        ImportError::Csv {
            row,
            reason: e.to_string(),
        }
    };
    let headers: Vec<String> = csv
        .headers()
        .map_err(|e| csv_err(1, e))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let columns: Vec<Column> = headers.iter().map(|h| classify(h)).collect();
    if !columns.contains(&Column::Phone) {
        return Err(ImportError::NoPhoneColumn(headers));
    }
    let mut report = ImportReport::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut record = csv::StringRecord::new();
    let mut row = 1u64;
    loop {
        row += 1;
        match csv.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => match csv_err(row, e) {
                ImportError::TooLarge(n) => return Err(ImportError::TooLarge(n)),
                other => {
                    report.rejected.push(RowProblem {
                        row,
                        value: String::new(),
                        reason: other.to_string(),
                    });
                    continue;
                }
            },
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        let mut c = ImportedContact {
            row,
            name: None,
            numbers: Vec::new(),
            priority: 0,
            fields: BTreeMap::new(),
        };
        let mut any_number = false;
        let mut dup_numbers = 0;
        for (i, value) in record.iter().enumerate() {
            match columns.get(i) {
                Some(Column::Phone) => {
                    // A cell may hold several numbers separated by commas or semicolons.
                    for part in value
                        .split([',', ';', '/'])
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                    {
                        any_number = true;
                        match normalize_ru(part) {
                            Ok(n) => {
                                if seen.insert(n.e164.clone()) {
                                    c.numbers.push(n);
                                } else {
                                    dup_numbers += 1;
                                }
                            }
                            Err(e) => report.rejected.push(RowProblem {
                                row,
                                value: part.to_string(),
                                reason: e.to_string(),
                            }),
                        }
                    }
                }
                Some(Column::Name) if !value.is_empty() => c.name = Some(value.to_string()),
                Some(Column::Priority) if !value.is_empty() => match value.parse() {
                    Ok(p) => c.priority = p,
                    Err(_) => report.rejected.push(RowProblem {
                        row,
                        value: value.to_string(),
                        reason: "priority is not a whole number (0 used)".into(),
                    }),
                },
                Some(Column::Field(h)) if !value.is_empty() => {
                    c.fields.insert(h.clone(), value.to_string());
                }
                _ => {}
            }
        }
        if c.numbers.is_empty() {
            if dup_numbers > 0 {
                report.duplicates += 1;
            } else if !any_number {
                report.rejected.push(RowProblem {
                    row,
                    value: String::new(),
                    reason: "no phone number in this row".into(),
                });
            }
            continue;
        }
        if sink(c) {
            report.imported += 1;
        } else {
            report.duplicates += 1;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8]) -> (ImportReport, Vec<ImportedContact>) {
        let mut got = Vec::new();
        let r = read_csv(bytes, ImportLimits::default(), |c| {
            got.push(c);
            true
        })
        .unwrap();
        (r, got)
    }

    #[test]
    fn good_rows_import_and_bad_values_are_reported_by_row() {
        let csv = "\u{feff}ФИО;Телефон;Тел. 2;Номер договора\n\
                   Иванов Иван;8 (912) 345-67-89;+7 495 123-45-67;1001\n\
                   Петров;+7 701 234 5678;;1002\n\
                   Сидорова;мусор;79161112233;1003\n\
                   ;;;\n\
                   Дубль;+79123456789;;1004\n";
        let (r, got) = run(csv.as_bytes());
        assert_eq!(r.imported, 2, "{r:?}");
        assert_eq!(r.duplicates, 1);
        assert_eq!(got[0].name.as_deref(), Some("Иванов Иван"));
        assert_eq!(
            got[0]
                .numbers
                .iter()
                .map(|n| n.e164.as_str())
                .collect::<Vec<_>>(),
            ["+79123456789", "+74951234567"]
        );
        assert_eq!(
            got[0].fields.get("Номер договора").map(String::as_str),
            Some("1001")
        );
        assert_eq!(got[1].row, 4);
        assert_eq!(got[1].numbers[0].e164, "+79161112233");
        let rows: Vec<(u64, &str)> = r
            .rejected
            .iter()
            .map(|p| (p.row, p.value.as_str()))
            .collect();
        assert_eq!(rows, [(3, "+7 701 234 5678"), (4, "мусор")]);
        assert!(r.rejected[0].reason.contains("Kazakhstan"));
    }

    #[test]
    fn windows_1251_and_commas_are_detected() {
        let text = "Имя,Phone,Город\nАнна,89161234567,Москва\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        let (r, got) = run(&bytes);
        assert_eq!(r.imported, 1, "{r:?}");
        assert_eq!(got[0].name.as_deref(), Some("Анна"));
        assert_eq!(
            got[0].fields.get("Город").map(String::as_str),
            Some("Москва")
        );
    }

    #[test]
    fn a_file_without_a_phone_column_or_empty_is_refused_and_limits_hold() {
        let e = read_csv(&b"a;b\n1;2\n"[..], ImportLimits::default(), |_| true).unwrap_err();
        assert!(matches!(e, ImportError::NoPhoneColumn(_)), "{e}");
        let e = read_csv(&b"  \n"[..], ImportLimits::default(), |_| true).unwrap_err();
        assert!(matches!(e, ImportError::Empty));
        let big = "phone\n".to_string() + &"+79123456789\n".repeat(10_000);
        let e = read_csv(big.as_bytes(), ImportLimits { max_bytes: 50_000 }, |_| true).unwrap_err();
        assert!(matches!(e, ImportError::TooLarge(50_000)), "{e}");
    }

    #[test]
    fn the_store_may_merge_a_contact_it_already_has() {
        let csv = "phone\n+79123456789\n+79123456780\n";
        let mut n = 0;
        let r = read_csv(csv.as_bytes(), ImportLimits::default(), |_| {
            n += 1;
            n == 1
        })
        .unwrap();
        assert_eq!((r.imported, r.duplicates), (1, 1));
    }
}
