//! The Russian numbering-plan registry ("Реестр российской системы и плана нумерации", the
//! regulator's ABC-3xx/4xx/8xx and DEF-9xx CSV files) read into a compact range table that
//! answers "which time zone is this number's region in" (the callee's local window,
//! docs/campaigns.md). Mobile DEF codes are not geographic, so this is the only source of a mobile
//! number's zone.
//!
//! Owns: the file parser (encoding, header, rows, per-line problems), the range table and the
//! lookup; the 89 federal subjects → IANA zone and the region-name matching are in `subjects`.
//! Pure: the only I/O is `Registry::load_file`, which reads bytes and calls the parser. Must
//! never touch SQL or the network, and never guess: a row whose region it cannot place is
//! reported and skipped, not defaulted to Moscow.
mod subjects;

pub use subjects::{subject_of_region, subjects, zone_of_region, Subject};

use chrono_tz::Tz;
use serde::Serialize;
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Read;
use std::path::{Path, PathBuf};
use subjects::{locate, lookalike};

/// How many lines from the top may precede the header (titles, notes) before a file is refused.
pub const HEADER_SEARCH_LINES: usize = 20;
/// A sensible `max_bytes` for `load_file`: the largest registry file (ABC-3xx) is ~15 MB.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Why a row was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProblemReason {
    #[error("АВС/DEF is not a 3-digit Russian code (3xx, 4xx, 8xx or 9xx)")]
    BadCode,
    #[error("От is not a number of at most 7 digits")]
    BadFrom,
    #[error("До is not a number of at most 7 digits")]
    BadTo,
    #[error("От is greater than До")]
    Reversed,
    #[error("no region given")]
    NoRegion,
    #[error("the region is not one of Russia's federal subjects, so its time zone is unknown")]
    UnknownRegion,
}

/// A skipped row: its 1-based line in the file, the offending value and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryProblem {
    pub line: u64,
    pub value: String,
    #[serde(serialize_with = "as_text")]
    pub reason: ProblemReason,
}

fn as_text<S: serde::Serializer>(r: &ProblemReason, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(r)
}

/// Why a whole file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the file is empty")]
    Empty,
    #[error("{}", no_header(.line, .missing))]
    NoHeader {
        /// The line that came closest to a header, if any had two of the columns.
        line: Option<u64>,
        missing: Vec<&'static str>,
    },
    #[error("{path}: larger than the limit of {max} bytes")]
    TooLarge { path: PathBuf, max: u64 },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn no_header(line: &Option<u64>, missing: &[&str]) -> String {
    const NEEDED: &str = "a numbering-plan registry file (Реестр российской системы и плана \
                          нумерации) starts with a `;`-separated header with the columns \
                          АВС/DEF, От, До and Регион";
    match line {
        Some(l) => format!(
            "line {l} looks like the header but has no {} column: {NEEDED}",
            missing.join(", ")
        ),
        None => format!("no header in the first {HEADER_SEARCH_LINES} lines: {NEEDED}"),
    }
}

/// Numbers → subject, as sorted non-overlapping ranges of 11-digit E.164 values (`7` + code +
/// 7 digits) in three parallel vectors: 17 bytes a range; adjacent ranges of one subject are
/// merged, so a full DEF file (~40k rows) takes well under a megabyte.
///
/// Overlaps are resolved deterministically. Within one file the narrowest range covering a
/// number wins (a sub-block re-assigned inside a larger one), and of equally wide ranges the one
/// further down the file. Between registries merged with `extend`, the added one wins where they
/// overlap (load an update after the base). The regulator's four files do not overlap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    starts: Vec<u64>,
    ends: Vec<u64>,
    subjects: Vec<u8>,
    rows: u64,
}

/// Which range wins a number: the greatest rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    layer: u8,
    narrow: Reverse<u64>,
    order: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    from: u64,
    to: u64,
    subject: u8,
    rank: Rank,
}

impl Registry {
    /// Reads one registry file: UTF-8 (with or without BOM) or Windows-1251, `;` (or tab or
    /// comma) separated, the header found by its column names within the first
    /// `HEADER_SEARCH_LINES` lines. Rows it cannot use come back as problems; the rest load.
    pub fn parse(bytes: &[u8]) -> Result<(Registry, Vec<RegistryProblem>), RegistryError> {
        let text = decode(bytes);
        if text.trim().is_empty() {
            return Err(RegistryError::Empty);
        }
        let header = find_header(&text)?;
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        let mut fields = Vec::new();
        for (i, raw) in text.split('\n').enumerate().skip(header.index + 1) {
            let line = (i + 1) as u64;
            split_fields(
                raw.strip_suffix('\r').unwrap_or(raw),
                header.delim,
                &mut fields,
            );
            if fields.iter().all(String::is_empty) || header.cols.is_repeated_header(&fields) {
                continue;
            }
            match header.cols.read_row(&fields) {
                Ok((from, to, subject)) => entries.push(Entry {
                    from,
                    to,
                    subject,
                    rank: Rank {
                        layer: 0,
                        narrow: Reverse(to - from),
                        order: line,
                    },
                }),
                Err((value, reason)) => problems.push(RegistryProblem {
                    line,
                    value,
                    reason,
                }),
            }
        }
        let rows = entries.len() as u64;
        let mut registry = Registry::resolve(entries);
        registry.rows = rows;
        Ok((registry, problems))
    }

    /// Reads a file of at most `max_bytes` (see `MAX_FILE_BYTES`) and parses it.
    pub fn load_file(
        path: &Path,
        max_bytes: u64,
    ) -> Result<(Registry, Vec<RegistryProblem>), RegistryError> {
        let io = |source| RegistryError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > max_bytes {
            return Err(RegistryError::TooLarge {
                path: path.to_path_buf(),
                max: max_bytes,
            });
        }
        Registry::parse(&bytes)
    }

    /// Merges another registry (another of the regulator's files) into this one; where both
    /// cover a number, `other` wins.
    pub fn extend(&mut self, other: Registry) {
        let rows = self.rows + other.rows;
        let mut entries = Vec::with_capacity(self.len() + other.len());
        for (layer, reg) in [(0, &*self), (1, &other)] {
            let ranges = reg.starts.iter().zip(&reg.ends).zip(&reg.subjects);
            for (order, ((&from, &to), &subject)) in ranges.enumerate() {
                entries.push(Entry {
                    from,
                    to,
                    subject,
                    rank: Rank {
                        layer,
                        narrow: Reverse(0),
                        order: order as u64,
                    },
                });
            }
        }
        *self = Registry::resolve(entries);
        self.rows = rows;
    }

    /// The zone of an E.164 number (`+79123456789`; the `+` may be missing). `None` for
    /// anything that is not `7` and ten digits, and for numbers no loaded range covers.
    pub fn zone(&self, e164: &str) -> Option<Tz> {
        self.subject(e164).map(|s| s.zone)
    }

    /// The federal subject of an E.164 number; see `zone`.
    pub fn subject(&self, e164: &str) -> Option<&'static Subject> {
        let digits = e164.strip_prefix('+').unwrap_or(e164);
        if digits.len() != 11
            || !digits.starts_with('7')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let n: u64 = digits.parse().ok()?;
        let i = self.starts.partition_point(|&s| s <= n).checked_sub(1)?;
        if *self.ends.get(i)? < n {
            return None;
        }
        subjects().get(usize::from(*self.subjects.get(i)?))
    }

    /// How many ranges are stored (after merging adjacent ones).
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// How many file rows were loaded, over all merged files.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Paints the entries into non-overlapping ranges: a sweep over every range boundary with a
    /// heap of the ranges open there, the greatest rank on top (closed ones dropped lazily).
    fn resolve(mut entries: Vec<Entry>) -> Registry {
        entries.sort_by_key(|e| e.from);
        let mut bounds: Vec<u64> = entries.iter().flat_map(|e| [e.from, e.to + 1]).collect();
        bounds.sort_unstable();
        bounds.dedup();
        let mut open: BinaryHeap<(Rank, u64, u8)> = BinaryHeap::new();
        let mut next = entries.iter().peekable();
        let mut r = Registry::default();
        for w in bounds.windows(2) {
            let (start, end) = (w[0], w[1] - 1);
            while let Some(e) = next.next_if(|e| e.from == start) {
                open.push((e.rank, e.to, e.subject));
            }
            while open.peek().is_some_and(|&(_, to, _)| to < start) {
                open.pop();
            }
            let Some(&(_, _, subject)) = open.peek() else {
                continue;
            };
            let adjacent = r.ends.last().is_some_and(|&e| e + 1 == start);
            match (r.ends.last_mut(), r.subjects.last()) {
                (Some(last_end), Some(&last)) if adjacent && last == subject => *last_end = end,
                _ => {
                    r.starts.push(start);
                    r.ends.push(end);
                    r.subjects.push(subject);
                }
            }
        }
        r
    }
}

/// UTF-8 by BOM or by its bytes decoding (a few stray bad bytes in a UTF-8 file are tolerated:
/// under 1% of the non-ASCII characters), else Windows-1251.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom..]).0;
    }
    let (text, errors) = encoding_rs::UTF_8.decode_without_bom_handling(bytes);
    if !errors {
        return text;
    }
    let bad = text.chars().filter(|&c| c == '\u{fffd}').count();
    let non_ascii = text.chars().filter(|c| !c.is_ascii()).count();
    if bad * 100 < non_ascii {
        return text;
    }
    encoding_rs::WINDOWS_1251
        .decode_without_bom_handling(bytes)
        .0
}

/// Splits one line; a field may be quoted (`"ООО ""Рога"""`, `;` inside allowed). A quote that
/// never closes makes the line split plainly, so one bad quote cannot swallow the lines after it.
fn split_fields(line: &str, delim: char, out: &mut Vec<String>) {
    out.clear();
    let mut field = String::new();
    let (mut at_start, mut quoted) = (true, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c != '"' {
                field.push(c);
            } else if chars.next_if_eq(&'"').is_some() {
                field.push('"');
            } else {
                quoted = false;
            }
        } else if c == delim {
            out.push(field.trim().to_string());
            field.clear();
            at_start = true;
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else {
            at_start &= c.is_whitespace();
            field.push(c);
        }
    }
    if quoted {
        out.clear();
        out.extend(line.split(delim).map(|f| f.trim().to_string()));
    } else {
        out.push(field.trim().to_string());
    }
}

/// Column positions, by header name.
#[derive(Debug, Clone, Copy, Default)]
struct Columns {
    code: Option<usize>,
    from: Option<usize>,
    to: Option<usize>,
    region: Option<usize>,
    /// "Территория ГАР": finer territory, used when Регион names no subject.
    territory: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Code,
    From,
    To,
    Region,
    Territory,
    Other,
}

/// A header cell's role: "АВС/ DEF", "ABC/DEF" (Latin or Cyrillic), "От", "До", "Регион",
/// "Территория ГАР".
fn role(cell: &str) -> Role {
    let h: String = cell
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { lookalike(c) })
        .collect();
    if h.contains("авс") || h.contains("dеf") || h == "код" {
        Role::Code
    } else if h == "от" {
        Role::From
    } else if h == "до" {
        Role::To
    } else if h.starts_with("регион") {
        Role::Region
    } else if h.starts_with("территор") || h.contains("гар") {
        Role::Territory
    } else {
        Role::Other
    }
}

impl Columns {
    fn detect(cells: &[String]) -> Columns {
        let mut c = Columns::default();
        for (i, cell) in cells.iter().enumerate() {
            let slot = match role(cell) {
                Role::Code => &mut c.code,
                Role::From => &mut c.from,
                Role::To => &mut c.to,
                Role::Region => &mut c.region,
                Role::Territory => &mut c.territory,
                Role::Other => continue,
            };
            slot.get_or_insert(i);
        }
        c
    }

    fn missing(&self) -> Vec<&'static str> {
        [
            (self.code, "АВС/DEF"),
            (self.from, "От"),
            (self.to, "До"),
            (self.region, "Регион"),
        ]
        .into_iter()
        .filter_map(|(c, name)| c.is_none().then_some(name))
        .collect()
    }

    /// A second header (files concatenated with `cat`) is skipped, not reported.
    fn is_repeated_header(&self, fields: &[String]) -> bool {
        let at = |c: Option<usize>| c.and_then(|i| fields.get(i)).map_or("", String::as_str);
        role(at(self.code)) == Role::Code && role(at(self.from)) == Role::From
    }

    /// A data row → (first, last E.164 value, subject), or the offending value and why.
    fn read_row(&self, fields: &[String]) -> Result<(u64, u64, u8), (String, ProblemReason)> {
        let at = |c: Option<usize>| c.and_then(|i| fields.get(i)).map_or("", String::as_str);
        let code_text = at(self.code);
        let code = Some(code_text)
            .filter(|c| c.len() == 3 && c.starts_with(['3', '4', '8', '9']))
            .and_then(|c| digits(c, 3))
            .ok_or_else(|| (code_text.to_string(), ProblemReason::BadCode))?;
        let from = digits(at(self.from), 7)
            .ok_or_else(|| (at(self.from).to_string(), ProblemReason::BadFrom))?;
        let to = digits(at(self.to), 7)
            .ok_or_else(|| (at(self.to).to_string(), ProblemReason::BadTo))?;
        if from > to {
            return Err((
                format!("{}–{}", at(self.from), at(self.to)),
                ProblemReason::Reversed,
            ));
        }
        let region = at(self.region);
        let territory = at(self.territory);
        let subject = locate(region)
            .or_else(|| locate(territory))
            .ok_or_else(|| match (region.is_empty(), territory.is_empty()) {
                (true, true) => (String::new(), ProblemReason::NoRegion),
                (true, false) => (territory.to_string(), ProblemReason::UnknownRegion),
                _ => (region.to_string(), ProblemReason::UnknownRegion),
            })?;
        let base = 70_000_000_000 + code * 10_000_000;
        Ok((base + from, base + to, subject))
    }
}

/// 1 to `max` ASCII digits (spaces ignored: "0 061 999"); a spreadsheet that dropped leading
/// zeros ("61999" for 0061999) reads the same, since the value is what counts.
fn digits(text: &str, max: usize) -> Option<u64> {
    let d: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if d.is_empty() || d.len() > max || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    d.parse().ok()
}

struct Header {
    /// 0-based line index.
    index: usize,
    delim: char,
    cols: Columns,
}

fn find_header(text: &str) -> Result<Header, RegistryError> {
    let mut best: Option<(u64, Vec<&'static str>)> = None;
    let mut fields = Vec::new();
    for (index, raw) in text.split('\n').enumerate().take(HEADER_SEARCH_LINES) {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        for delim in [';', '\t', ','] {
            split_fields(line, delim, &mut fields);
            let cols = Columns::detect(&fields);
            let missing = cols.missing();
            if missing.is_empty() {
                return Ok(Header { index, delim, cols });
            }
            if missing.len() <= 2 && best.as_ref().is_none_or(|(_, m)| missing.len() < m.len()) {
                best = Some(((index + 1) as u64, missing));
            }
        }
    }
    let (line, missing) = match best {
        Some((l, m)) => (Some(l), m),
        None => (None, Columns::default().missing()),
    };
    Err(RegistryError::NoHeader { line, missing })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "АВС/ DEF;От;До;Емкость;Оператор;Регион;ИНН\n\
        900;0000000;0061999;62000;ООО \"Т2 Мобайл\";Краснодарский край;7743895280\n\
        912;2000000;2999999;1000000;ПАО \"Мобильные ТелеСистемы\";Свердловская обл.;7740000076\n\
        916;0000000;9999999;10000000;ПАО \"Мобильные ТелеСистемы\";г. Москва и Московская область;7740000076\n\
        924;0000000;0999999;1000000;ПАО \"МегаФон\";Республика Саха /Якутия/;7812014560\n\
        958;5000000;5999999;1000000;ООО \"Т2 Мобайл\";г. Санкт-Петербург и Ленинградская область|Ленинградская обл.;7743895280\n\
        911;4500000;4599999;100000;ПАО \"МегаФон\";Калининградская обл.;7812014560\n\
        922;4000000;4099999;100000;ПАО \"МегаФон\";Ханты-Мансийский автономный округ - Югра;7812014560\n\
        923;5000000;5099999;100000;ПАО \"МегаФон\";Кемеровская область - Кузбасс;7812014560\n\
        927;8000000;8099999;100000;ПАО \"МегаФон\";Чувашская Республика - Чувашия;7812014560\n\
        978;0000000;0999999;1000000;ООО \"К-Телеком\";Республика Крым;9102000000\n";

    fn parse(text: &str) -> (Registry, Vec<RegistryProblem>) {
        Registry::parse(text.as_bytes()).unwrap()
    }

    fn zone(r: &Registry, n: &str) -> Option<&'static str> {
        r.zone(n).map(Tz::name)
    }

    fn assert_sample(r: &Registry) {
        let expect = [
            ("+79000000000", "Europe/Moscow"),
            ("+79165554433", "Europe/Moscow"),
            ("+79122345678", "Asia/Yekaterinburg"),
            ("+79240500000", "Asia/Yakutsk"),
            ("+79585123456", "Europe/Moscow"),
            ("+79114512345", "Europe/Kaliningrad"),
            ("+79224012345", "Asia/Yekaterinburg"),
            ("+79235012345", "Asia/Novokuznetsk"),
            ("+79278012345", "Europe/Moscow"),
            ("+79780123456", "Europe/Simferopol"),
        ];
        for (n, z) in expect {
            assert_eq!(zone(r, n), Some(z), "{n}");
        }
        assert_eq!(r.subject("+79165554433").map(|s| s.name), Some("Москва"));
        assert_eq!(
            r.subject("+79585123456").map(|s| s.name),
            Some("Санкт-Петербург")
        );
        assert_eq!(r.rows(), 10);
    }

    #[test]
    fn a_sample_in_utf8_with_bom_and_in_cp1251_parses_and_looks_up_right() {
        let with_bom = format!("\u{feff}{SAMPLE}");
        let (utf8, problems) = Registry::parse(with_bom.as_bytes()).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_sample(&utf8);

        // An older file: Windows-1251, CRLF, a Latin "ABC/DEF" header.
        let old = SAMPLE.replace("АВС/ DEF", "ABC/DEF").replace('\n', "\r\n");
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(&old);
        assert!(!unmappable);
        let (cp1251, problems) = Registry::parse(&bytes).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_sample(&cp1251);
        assert_eq!(cp1251, utf8);

        // UTF-8 without BOM, one stray byte in an operator's name: still read as UTF-8.
        let mut stray = SAMPLE.as_bytes().to_vec();
        let at = SAMPLE.find("Мобайл").unwrap();
        stray[at] = 0xff;
        let (lossy, problems) = Registry::parse(&stray).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_sample(&lossy);
    }

    #[test]
    fn header_variants_tabs_quotes_and_the_territory_column_are_read() {
        let text = "Реестр DEF-9xx\n\
            \n\
            \"АBC/DEF\"\tОт\tДо\tЕмкость\tОператор\tТерритория ГАР\tРегион\n\
            912\t2000000\t2999999\t1000000\t\"ПАО \"\"МТС\"\"\tфилиал\"\tСвердловская обл.|г. Екатеринбург\tСвердловская область\n\
            924\t0000000\t0999999\t1000000\tПАО \"МегаФон\"\tРеспублика Саха (Якутия)|Оймяконский улус\t\n\
            958\t5000000\t5999999\t1000000\t\"ООО Т2\tСанкт-Петербург\tг. Санкт-Петербург\n\
            900\t0\t61999\t62000\tООО \"Т2 Мобайл\"\tКраснодарский край\tКраснодарский край\n";
        let (r, problems) = parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(r.rows(), 4);
        assert_eq!(zone(&r, "+79122000000"), Some("Asia/Yekaterinburg"));
        // No Регион: the territory column places it.
        assert_eq!(zone(&r, "+79240000000"), Some("Asia/Yakutsk"));
        // An unclosed quote splits plainly and does not swallow the next line.
        assert_eq!(zone(&r, "+79585000000"), Some("Europe/Moscow"));
        // Leading zeros dropped by a spreadsheet: 0 → 0000000, 61999 → 0061999.
        assert_eq!(zone(&r, "+79000000000"), Some("Europe/Moscow"));
        assert_eq!(zone(&r, "+79000061999"), Some("Europe/Moscow"));
        assert_eq!(zone(&r, "+79000062000"), None);
    }

    #[test]
    fn unknown_regions_and_malformed_rows_are_reported_by_line_and_the_rest_imported() {
        let text = "АВС/DEF;От;До;Емкость;Оператор;Регион\n\
            912;2000000;2999999;1000000;МТС;Свердловская обл.\n\
            913;0000000;0999999;1000000;X;Нарния\n\
            \n\
            9a4;0000000;0999999;1000000;X;Москва\n\
            ;;;;;\n\
            701;0000000;0999999;1000000;X;Москва\n\
            915;00x0000;0999999;1000000;X;Москва\n\
            915;0000000;12345678;1000000;X;Москва\n\
            915;0999999;0000000;1000000;X;Москва\n\
            915;0000000;0999999;1000000;X;\n\
            АВС/DEF;От;До;Емкость;Оператор;Регион\n\
            916;0000000\n\
            924;0000000;0999999;1000000;МегаФон;Республика Саха /Якутия/\n";
        let (r, problems) = parse(text);
        let got: Vec<(u64, &str, ProblemReason)> = problems
            .iter()
            .map(|p| (p.line, p.value.as_str(), p.reason))
            .collect();
        use ProblemReason::*;
        assert_eq!(
            got,
            [
                (3, "Нарния", UnknownRegion),
                (5, "9a4", BadCode),
                (7, "701", BadCode),
                (8, "00x0000", BadFrom),
                (9, "12345678", BadTo),
                (10, "0999999–0000000", Reversed),
                (11, "", NoRegion),
                (13, "", BadTo),
            ]
        );
        assert_eq!(r.rows(), 2);
        assert_eq!(zone(&r, "+79122000000"), Some("Asia/Yekaterinburg"));
        assert_eq!(zone(&r, "+79240000000"), Some("Asia/Yakutsk"));
        assert_eq!(zone(&r, "+79130000000"), None);
        let json = serde_json::to_string(&problems[0]).unwrap();
        assert!(
            json.contains("\"line\":3") && json.contains("federal subjects"),
            "{json}"
        );
    }

    #[test]
    fn a_file_without_the_header_is_refused_naming_the_columns() {
        let e = Registry::parse("912;2000000;2999999;1000000;X;Свердловская обл.\n".as_bytes())
            .unwrap_err();
        assert!(
            matches!(e, RegistryError::NoHeader { line: None, .. }),
            "{e}"
        );
        let msg = e.to_string();
        assert!(msg.contains("АВС/DEF, От, До and Регион"), "{msg}");

        let e = Registry::parse("Код;От;До;Оператор\n912;1;2;X\n".as_bytes()).unwrap_err();
        assert!(
            matches!(&e, RegistryError::NoHeader { line: Some(1), missing } if missing == &["Регион"]),
            "{e}"
        );
        assert!(e
            .to_string()
            .starts_with("line 1 looks like the header but has no Регион column"));

        assert!(matches!(
            Registry::parse(b" \r\n\n"),
            Err(RegistryError::Empty)
        ));
        // Past the search window: refused rather than read from a guess.
        let late = "заметка\n".repeat(HEADER_SEARCH_LINES) + SAMPLE;
        assert!(matches!(
            Registry::parse(late.as_bytes()),
            Err(RegistryError::NoHeader { .. })
        ));
    }

    #[test]
    fn a_range_covers_its_first_and_last_number_and_not_one_past() {
        let (r, _) = parse(SAMPLE);
        assert_eq!(zone(&r, "+79121999999"), None);
        assert_eq!(zone(&r, "+79122000000"), Some("Asia/Yekaterinburg"));
        assert_eq!(zone(&r, "+79122999999"), Some("Asia/Yekaterinburg"));
        assert_eq!(zone(&r, "+79123000000"), None);
        assert_eq!(zone(&r, "+79169999999"), Some("Europe/Moscow"));
        assert_eq!(zone(&r, "+79170000000"), None);
    }

    #[test]
    fn overlaps_go_to_the_narrowest_range_then_the_later_row() {
        let head = "АВС/DEF;От;До;Регион\n";
        let wide = "916;0000000;9999999;г. Москва\n";
        let narrow = "916;5000000;5099999;Калининградская обл.\n";
        let dups = "917;0000000;0999999;Томская обл.\n917;0000000;0999999;Омская обл.\n";
        let (a, _) = parse(&format!("{head}{narrow}{wide}{dups}"));
        let (b, _) = parse(&format!("{head}{wide}{narrow}{dups}"));
        assert_eq!(a, b, "the narrower wins whatever the order");
        for (n, z) in [
            ("+79164999999", "Europe/Moscow"),
            ("+79165000000", "Europe/Kaliningrad"),
            ("+79165099999", "Europe/Kaliningrad"),
            ("+79165100000", "Europe/Moscow"),
            ("+79169999999", "Europe/Moscow"),
            ("+79170500000", "Asia/Omsk"),
        ] {
            assert_eq!(zone(&a, n), Some(z), "{n}");
        }
        assert_eq!(a.len(), 4);
    }

    #[test]
    fn extend_merges_files_and_the_added_one_wins_where_they_overlap() {
        let (mut r, _) = parse("АВС/DEF;От;До;Регион\n343;0000000;9999999;Свердловская обл.\n");
        let (def, _) = parse(SAMPLE);
        r.extend(def);
        assert_eq!(zone(&r, "+73431234567"), Some("Asia/Yekaterinburg"));
        assert_sample(&Registry {
            rows: 10,
            ..r.clone()
        });
        assert_eq!(r.rows(), 11);
        let (update, _) = parse("АВС/DEF;От;До;Регион\n912;2000000;9999999;Пермский край\n916;5000000;5999999;Тверская обл.\n");
        r.extend(update);
        assert_eq!(
            r.subject("+79125000000").map(|s| s.name),
            Some("Пермский край")
        );
        assert_eq!(
            r.subject("+79165000000").map(|s| s.name),
            Some("Тверская область")
        );
        assert_eq!(r.subject("+79164999999").map(|s| s.name), Some("Москва"));
        assert_eq!(r.subject("+79166000000").map(|s| s.name), Some("Москва"));
    }

    #[test]
    fn adjacent_rows_of_one_subject_are_stored_as_one_range() {
        let text = "АВС/DEF;От;До;Регион\n\
            912;0000000;0999999;Свердловская обл.\n\
            912;1000000;1999999;Свердловская область\n\
            912;2000000;2999999;Свердловская обл.\n\
            912;4000000;4999999;Свердловская обл.\n";
        let (r, _) = parse(text);
        assert_eq!((r.len(), r.rows()), (2, 4));
        assert_eq!(zone(&r, "+79121500000"), Some("Asia/Yekaterinburg"));
        assert_eq!(zone(&r, "+79123500000"), None);
    }

    #[test]
    fn non_russian_short_or_malformed_numbers_look_up_none() {
        let (r, _) = parse(SAMPLE);
        assert_eq!(zone(&r, "79122000000"), Some("Asia/Yekaterinburg"));
        for n in [
            "",
            "+",
            "+7912200000",
            "+791220000000",
            "+375291234567",
            "+77012345678",
            "89122000000",
            "+7912200000x",
            "+7 912 200 00 00",
            "112",
        ] {
            assert_eq!(r.zone(n), None, "{n:?}");
        }
        assert_eq!(Registry::default().zone("+79122000000"), None);
    }

    #[test]
    fn load_file_reads_a_file_and_refuses_one_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("DEF-9xx.csv");
        std::fs::write(&path, SAMPLE).unwrap();
        let (r, problems) = Registry::load_file(&path, MAX_FILE_BYTES).unwrap();
        assert!(problems.is_empty());
        assert_sample(&r);
        let e = Registry::load_file(&path, 100).unwrap_err();
        assert!(matches!(e, RegistryError::TooLarge { max: 100, .. }), "{e}");
        let e = Registry::load_file(&dir.path().join("missing.csv"), MAX_FILE_BYTES).unwrap_err();
        assert!(matches!(e, RegistryError::Io { .. }) && e.to_string().contains("missing.csv"));
    }
}
