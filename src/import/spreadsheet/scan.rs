//! The check of a zip package (xlsx, xlsm, xlsb, ods) against the import limits, made before
//! calamine opens it (issue 9 §3). calamine reads a workbook's parts with an XML reader that
//! buffers each event whole, keeps every shared string in memory (reserving what the file says
//! it holds), and expands an .ods sheet's repeated rows and columns into a grid; a small file
//! can ask any of them for gigabytes. This file streams the very parts calamine reads,
//! decompressing them (so a lying size in the zip cannot fool it) and stopping at the first
//! limit hit:
//! - the package: at most `MAX_PARTS` parts;
//! - all parts read: at most `max_unpacked_bytes` unpacked in total;
//! - XML: no tag, comment or processing instruction over `MAX_TAG_BYTES`, no text run or cell
//!   over `max_cell_chars` characters (Excel's own cell limit), no DOCTYPE, no NUL byte (Excel
//!   and LibreOffice write UTF-8);
//! - xlsx: shared strings (and the count their header announces) within `max_shared_strings`
//!   and `max_shared_string_bytes`; a worksheet within Excel's 1,048,576 rows;
//! - xlsb: no record over `max_row_bytes` (calamine allocates a record's announced length),
//!   the same shared string, cell and row limits;
//! - ods: the grid calamine builds (repeats expanded, as it expands them) estimated within
//!   `max_sheet_memory`.
//!
//! Which parts: those calamine's readers open by name (case and `\` folded, as it looks them
//! up), every part under `xl/worksheets/` (the only place an xlsx sheet can be), and for xlsb
//! every target of `xl/_rels/workbook.bin.rels` (its sheets may be anywhere under `xl/`).
use super::super::{ImportError, ImportLimits, LimitHit, EXCEL_MAX_COLUMNS, EXCEL_MAX_ROWS};
use super::WorkbookProblem;
use std::collections::HashSet;
use std::io::{Cursor, Read};
use xlsb::{RecordScan, Records};
use zip::ZipArchive;

mod xlsb;

/// Parts a package may hold: a workbook has tens; the zip reader keeps a few hundred bytes for
/// each one listed.
const MAX_PARTS: u64 = 10_000;

/// Longest tag, comment or processing instruction (an .ods cell may carry its text in an
/// attribute: 32,767 characters of escaped UTF-8 fit).
const MAX_TAG_BYTES: usize = 256 << 10;

/// Longest part name shown in a message.
const NAME_CHARS: usize = 100;

/// The relationships of an xlsb workbook: its sheets' targets.
const XLSB_RELS: &str = "xl/_rels/workbook.bin.rels";

/// Checks the package; `Ok` also for a zip the zip reader cannot open (calamine says why).
pub(super) fn check_package(bytes: &[u8], limits: &ImportLimits) -> Result<(), ImportError> {
    count_parts(bytes)?;
    let Ok(mut zip) = ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(());
    };
    let mut left = limits.max_unpacked_bytes;
    let mut buf = vec![0u8; 64 << 10];
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.name_for_index(i).map(normalize).unwrap_or_default())
        .collect();
    let mut targets = Vec::new();
    let mut scanned = HashSet::new();
    let mut each = |i: usize,
                    kind: Kind,
                    zip: &mut ZipArchive<Cursor<&[u8]>>,
                    targets: &mut Vec<String>|
     -> Result<(), ImportError> {
        let shown: String = names[i].chars().take(NAME_CHARS).collect();
        let mut file = zip.by_index(i).map_err(damaged)?;
        let mut part = Part::new(kind, &shown, limits);
        loop {
            let n = file.read(&mut buf).map_err(damaged)?;
            if n == 0 {
                break;
            }
            left = left
                .checked_sub(n as u64)
                .ok_or(LimitHit::Unpacked(limits.max_unpacked_bytes))?;
            part.feed(&buf[..n])?;
        }
        part.finish(targets)
    };
    for (i, name) in names.iter().enumerate() {
        if let Some(kind) = kind_of(name) {
            scanned.insert(i);
            each(i, kind, &mut zip, &mut targets)?;
        }
    }
    // xlsb sheets are read at "xl/" + their relationship's target, wherever that is (the
    // theme and other XML targets are not records).
    for target in std::mem::take(&mut targets) {
        let lower = target.to_ascii_lowercase();
        if lower.ends_with(".xml") || lower.ends_with(".rels") {
            continue;
        }
        let path = format!("xl/{target}").to_ascii_lowercase();
        for (i, name) in names.iter().enumerate() {
            if *name == path && scanned.insert(i) {
                each(i, Kind::Records(Records::Sheet), &mut zip, &mut Vec::new())?;
            }
        }
    }
    Ok(())
}

/// A part's name as calamine looks it up: `\` as `/`, ASCII lower case.
fn normalize(name: &str) -> String {
    name.replace('\\', "/").to_ascii_lowercase()
}

fn damaged(e: impl std::fmt::Display) -> ImportError {
    WorkbookProblem::Damaged(e.to_string()).into()
}

/// Refuses a package listing more than `MAX_PARTS` parts, before any zip reader lists them:
/// every central directory entry starts with its signature, and every end record (zip32 or
/// zip64) says how many entries there are; whichever one a reader trusts is counted here.
fn count_parts(bytes: &[u8]) -> Result<(), ImportError> {
    let too_many = Err(LimitHit::Parts(MAX_PARTS).into());
    if memchr::memmem::find_iter(bytes, b"PK\x01\x02").count() as u64 > MAX_PARTS {
        return too_many;
    }
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    for at in memchr::memmem::find_iter(bytes, b"PK\x05\x06") {
        let entries = u16_at(at + 10)
            .unwrap_or(0)
            .max(u16_at(at + 8).unwrap_or(0));
        if entries != u16::MAX && u64::from(entries) > MAX_PARTS {
            return too_many;
        }
    }
    for at in memchr::memmem::find_iter(bytes, b"PK\x06\x06") {
        let Some(b) = bytes.get(at + 24..at + 40) else {
            continue;
        };
        let (on_disk, total) = b.split_at(8);
        let n = |b: &[u8]| b.try_into().map(u64::from_le_bytes).unwrap_or(0);
        if n(on_disk).max(n(total)) > MAX_PARTS {
            return too_many;
        }
    }
    Ok(())
}

/// How a part is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Any XML part calamine reads (workbook, styles, relationships, manifest).
    Xml,
    /// `xl/sharedStrings.xml`.
    SharedStrings,
    /// An xlsx worksheet.
    Worksheet,
    /// An .ods `content.xml`: every sheet.
    OdsContent,
    /// An xlsb part: binary records.
    Records(Records),
}

/// The parts calamine's readers open, by normalised name.
fn kind_of(name: &str) -> Option<Kind> {
    Some(match name {
        "xl/sharedstrings.xml" => Kind::SharedStrings,
        "content.xml" => Kind::OdsContent,
        "xl/workbook.xml"
        | "xl/styles.xml"
        | "xl/_rels/workbook.xml.rels"
        | "xl/_rels/workbook.bin.rels"
        | "meta-inf/manifest.xml" => Kind::Xml,
        "xl/sharedstrings.bin" => Kind::Records(Records::SharedStrings),
        "xl/workbook.bin" | "xl/styles.bin" => Kind::Records(Records::Other),
        n if n.starts_with("xl/worksheets/") && n.ends_with(".bin") => {
            Kind::Records(Records::Sheet)
        }
        n if n.starts_with("xl/worksheets/") => Kind::Worksheet,
        _ => return None,
    })
}

/// One part being scanned.
enum Part<'a> {
    Xml(Box<XmlScan<'a>>),
    Records(RecordScan<'a>),
}

impl<'a> Part<'a> {
    fn new(kind: Kind, name: &'a str, limits: &ImportLimits) -> Self {
        match kind {
            Kind::Records(r) => Part::Records(RecordScan::new(r, name, limits)),
            k => Part::Xml(Box::new(XmlScan::new(k, name, limits))),
        }
    }

    fn feed(&mut self, data: &[u8]) -> Result<(), ImportError> {
        match self {
            Part::Xml(x) => x.feed(data),
            Part::Records(r) => r.feed(data),
        }
    }

    /// Ends the part; a relationships part adds its targets.
    fn finish(self, targets: &mut Vec<String>) -> Result<(), ImportError> {
        if let Part::Xml(x) = self {
            x.finish()?;
            targets.extend(x.targets);
        }
        Ok(())
    }
}

/// Where the XML scanner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Text,
    /// In `<…>`, with the quote an attribute value is open in.
    Tag(Option<u8>),
    Comment,
    Cdata,
    Instruction,
}

/// Streams an XML part byte by byte, keeping only the current tag.
struct XmlScan<'a> {
    kind: Kind,
    name: &'a str,
    limits: ImportLimits,
    at: At,
    tag: Vec<u8>,
    /// Bytes of a comment or instruction so far, and its last two bytes.
    special: usize,
    last: [u8; 2],
    /// Characters of the current text run, and of the current cell or shared string.
    run: u64,
    cell: Option<u64>,
    strings: u64,
    string_bytes: u64,
    rows: u64,
    ods: OdsGrid,
    /// Relationship targets (xlsb sheets are found by them).
    targets: Vec<String>,
}

/// Characters in UTF-8 `text`, an entity (`&amp;`, at least four bytes) counted as at most two.
fn chars(text: &[u8]) -> u64 {
    let starts = text.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64;
    let entities = memchr::memchr_iter(b'&', text).count() as u64;
    starts.saturating_sub(entities * 3)
}

impl<'a> XmlScan<'a> {
    fn new(kind: Kind, name: &'a str, limits: &ImportLimits) -> Self {
        Self {
            kind,
            name,
            limits: *limits,
            at: At::Text,
            tag: Vec::new(),
            special: 0,
            last: [0; 2],
            run: 0,
            cell: None,
            strings: 0,
            string_bytes: 0,
            rows: 0,
            ods: OdsGrid::default(),
            targets: Vec::new(),
        }
    }

    fn markup(&self, what: &'static str) -> ImportError {
        LimitHit::Markup {
            part: self.name.to_string(),
            what,
        }
        .into()
    }

    fn cell_too_long(&self) -> ImportError {
        LimitHit::CellTooLong {
            part: self.name.to_string(),
            max: self.limits.max_cell_chars,
        }
        .into()
    }

    fn feed(&mut self, mut data: &[u8]) -> Result<(), ImportError> {
        if memchr::memchr(0, data).is_some() {
            return Err(self.markup("a NUL byte: UTF-16 or binary data"));
        }
        while !data.is_empty() {
            if self.at == At::Text {
                let end = memchr::memchr(b'<', data).unwrap_or(data.len());
                self.text(&data[..end])?;
                if end == data.len() {
                    return Ok(());
                }
                self.run = 0;
                self.at = At::Tag(None);
                self.tag.clear();
                data = &data[end + 1..];
                continue;
            }
            let b = data[0];
            data = &data[1..];
            self.byte(b)?;
        }
        Ok(())
    }

    /// One byte outside text.
    fn byte(&mut self, b: u8) -> Result<(), ImportError> {
        match self.at {
            At::Text => unreachable!("text is handled in runs"),
            At::Tag(Some(q)) => {
                if b == q {
                    self.at = At::Tag(None);
                }
                self.push_tag(b)?;
            }
            At::Tag(None) => match b {
                b'>' => {
                    self.at = At::Text;
                    self.end_tag()?;
                }
                b'"' | b'\'' if !self.tag.starts_with(b"!") => {
                    self.at = At::Tag(Some(b));
                    self.push_tag(b)?;
                }
                _ => {
                    self.push_tag(b)?;
                    match &self.tag[..] {
                        b"!--" => self.begin_special(At::Comment),
                        b"?" => self.begin_special(At::Instruction),
                        b"![CDATA[" => self.begin_special(At::Cdata),
                        t if t.len() == 8 && t.eq_ignore_ascii_case(b"!DOCTYPE") => {
                            return Err(self.markup("a DOCTYPE"));
                        }
                        _ => {}
                    }
                }
            },
            At::Comment | At::Instruction | At::Cdata => {
                let closing = match self.at {
                    At::Comment => self.last == *b"--",
                    At::Instruction => self.last[1] == b'?',
                    _ => self.last == *b"]]",
                };
                if b == b'>' && closing {
                    self.at = At::Text;
                    self.run = 0;
                    return Ok(());
                }
                self.last = [self.last[1], b];
                if self.at == At::Cdata {
                    self.text(&[b])?;
                } else {
                    self.special += 1;
                    if self.special > MAX_TAG_BYTES {
                        return Err(self.markup("a comment or instruction over 256 KiB"));
                    }
                }
            }
        }
        Ok(())
    }

    fn begin_special(&mut self, at: At) {
        self.at = at;
        self.special = 0;
        self.last = [0; 2];
        self.run = 0;
    }

    fn push_tag(&mut self, b: u8) -> Result<(), ImportError> {
        if self.tag.len() >= MAX_TAG_BYTES {
            return Err(self.markup("a tag over 256 KiB"));
        }
        self.tag.push(b);
        Ok(())
    }

    /// A text run (or part of one).
    fn text(&mut self, text: &[u8]) -> Result<(), ImportError> {
        if text.is_empty() {
            return Ok(());
        }
        let n = chars(text);
        self.run += n;
        if self.run > self.limits.max_cell_chars {
            return Err(self.cell_too_long());
        }
        if let Some(cell) = self.cell.as_mut() {
            *cell += n;
            if *cell > self.limits.max_cell_chars {
                return Err(self.cell_too_long());
            }
        }
        match self.kind {
            Kind::SharedStrings => {
                self.string_bytes += text.len() as u64;
                if self.string_bytes > self.limits.max_shared_string_bytes {
                    return Err(
                        LimitHit::SharedStringBytes(self.limits.max_shared_string_bytes).into(),
                    );
                }
            }
            Kind::OdsContent if self.cell.is_some() => {
                self.ods.cell_bytes += text.len() as u64;
                if text.iter().any(|b| !b.is_ascii_whitespace()) {
                    self.ods.cell_filled = true;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A complete tag is in `self.tag` (without `<` and `>`).
    fn end_tag(&mut self) -> Result<(), ImportError> {
        let tag = std::mem::take(&mut self.tag);
        let result = self.element(&tag);
        self.tag = tag;
        result
    }

    fn element(&mut self, tag: &[u8]) -> Result<(), ImportError> {
        if tag.starts_with(b"!") || tag.starts_with(b"?") {
            return Ok(());
        }
        let end = tag.starts_with(b"/");
        let body = if end { &tag[1..] } else { tag };
        let name_len = body
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'/')
            .unwrap_or(body.len());
        let name = &body[..name_len];
        let local = name.rsplit(|&b| b == b':').next().unwrap_or(name);
        let empty = tag.ends_with(b"/");
        match (self.kind, end) {
            (Kind::Worksheet, false) if local == b"row" => {
                self.rows += 1;
                if self.rows > EXCEL_MAX_ROWS {
                    return Err(LimitHit::SheetRows(self.name.to_string()).into());
                }
            }
            (Kind::Worksheet, false) if local == b"c" => {
                self.cell = (!empty).then_some(0);
            }
            (Kind::Worksheet, true) if local == b"c" => self.cell = None,
            (Kind::SharedStrings, false) if local == b"sst" => {
                // calamine reserves room for the count this announces.
                let announced = attribute(tag, b"uniqueCount")
                    .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
                if announced.is_some_and(|n| n > self.limits.max_shared_strings) {
                    return Err(LimitHit::SharedStrings(self.limits.max_shared_strings).into());
                }
            }
            (Kind::SharedStrings, false) if local == b"si" => {
                self.strings += 1;
                if self.strings > self.limits.max_shared_strings {
                    return Err(LimitHit::SharedStrings(self.limits.max_shared_strings).into());
                }
                self.cell = (!empty).then_some(0);
            }
            (Kind::SharedStrings, true) if local == b"si" => self.cell = None,
            (Kind::Xml, false) if local == b"Relationship" && self.name == XLSB_RELS => {
                if let Some(t) = attribute(tag, b"Target") {
                    if self.targets.len() < MAX_PARTS as usize {
                        self.targets.push(String::from_utf8_lossy(t).into_owned());
                    }
                }
            }
            (Kind::OdsContent, _) => self.ods_element(name, end, empty, tag)?,
            _ => {}
        }
        Ok(())
    }

    fn ods_element(
        &mut self,
        name: &[u8],
        end: bool,
        empty: bool,
        tag: &[u8],
    ) -> Result<(), ImportError> {
        let repeats = |attr: &[u8]| {
            attribute(tag, attr)
                .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok())
                .unwrap_or(1)
        };
        match (name, end) {
            (b"table:table", false) => self.ods.begin_table(),
            (b"table:table", true) => self.ods.end_table(),
            (b"table:table-row", false) => {
                self.ods.begin_row(repeats(b"table:number-rows-repeated"));
                if empty {
                    self.ods.end_row();
                }
            }
            (b"table:table-row", true) => self.ods.end_row(),
            (b"table:table-cell" | b"table:covered-table-cell", false) => {
                let filled = [
                    &b"office:value"[..],
                    b"office:string-value",
                    b"office:date-value",
                    b"office:time-value",
                    b"office:boolean-value",
                    b"table:formula",
                ]
                .iter()
                .any(|a| attribute(tag, a).is_some());
                self.ods.begin_cell(
                    repeats(b"table:number-columns-repeated"),
                    filled,
                    tag.len() as u64,
                );
                self.cell = Some(0);
                if empty {
                    self.ods.end_cell();
                    self.cell = None;
                }
            }
            (b"table:table-cell" | b"table:covered-table-cell", true) => {
                self.ods.end_cell();
                self.cell = None;
            }
            _ => return Ok(()),
        }
        if self.ods.estimate() > self.limits.max_sheet_memory {
            return Err(LimitHit::SheetTooLarge(self.limits.max_sheet_memory).into());
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), ImportError> {
        Ok(())
    }
}

/// The value of attribute `name` in a tag (exact name, `"` or `'` quoted).
fn attribute<'t>(tag: &'t [u8], name: &[u8]) -> Option<&'t [u8]> {
    let mut rest = tag;
    while let Some(at) = memchr::memmem::find(rest, name) {
        let before_ok = at > 0 && rest[at - 1].is_ascii_whitespace();
        let after = &rest[at + name.len()..];
        let after_trimmed = after.trim_ascii_start();
        if before_ok {
            if let Some(value) = after_trimmed.strip_prefix(b"=") {
                let value = value.trim_ascii_start();
                let quote = *value.first()?;
                if quote == b'"' || quote == b'\'' {
                    let value = &value[1..];
                    let end = memchr::memchr(quote, value)?;
                    return Some(&value[..end]);
                }
            }
        }
        rest = after;
    }
    None
}

/// Bytes calamine keeps for one grid cell: the value (32) and its formula text (24).
const GRID_CELL_BYTES: u64 = 56;
/// Bytes calamine keeps for each row element (its repeat count and where its cells start).
const GRID_ROW_BYTES: u64 = 16;

/// The memory calamine's .ods reader takes for the sheets of `content.xml`, estimated as it
/// builds them: each row's cells pushed one by one (a filled cell repeated as often as it says,
/// the empty cells before it too, at most 16,384 a row), then the grid from the first to the
/// last filled row, every row repeated as often as it says (at most 1,048,576 rows a sheet),
/// as wide as the widest row; the values' text is copied into every repeat. The first sheet's
/// grid is copied once more when it is read.
#[derive(Default)]
struct OdsGrid {
    /// Sheets done.
    done: u64,
    rows: u64,
    rows_to_last: u64,
    width: u64,
    raw: u64,
    grid_text: u64,
    // The current row.
    row_repeats: u64,
    row_cells: u64,
    pending_empty: u64,
    row_text: u64,
    // The current cell.
    cell_repeats: u64,
    cell_filled: bool,
    cell_bytes: u64,
}

impl OdsGrid {
    fn begin_table(&mut self) {
        self.done = self.estimate();
        let done = self.done;
        *self = OdsGrid {
            done,
            ..OdsGrid::default()
        };
    }

    fn end_table(&mut self) {
        self.begin_table();
    }

    fn begin_row(&mut self, repeats: u64) {
        self.row_repeats = repeats;
        self.row_cells = 0;
        self.pending_empty = 0;
        self.row_text = 0;
    }

    fn begin_cell(&mut self, repeats: u64, filled: bool, tag_bytes: u64) {
        self.cell_repeats = repeats;
        self.cell_filled = filled;
        self.cell_bytes = tag_bytes;
    }

    fn end_cell(&mut self) {
        let room = EXCEL_MAX_COLUMNS.saturating_sub(self.row_cells + self.pending_empty);
        let repeats = self.cell_repeats.min(room);
        if self.cell_filled {
            self.row_cells += self.pending_empty + repeats;
            self.pending_empty = 0;
            self.row_text += repeats.saturating_mul(self.cell_bytes);
        } else {
            self.pending_empty += repeats;
        }
        self.cell_filled = false;
        self.cell_bytes = 0;
    }

    fn end_row(&mut self) {
        let repeats = self
            .row_repeats
            .min(EXCEL_MAX_ROWS.saturating_sub(self.rows));
        self.rows += repeats;
        self.raw += GRID_ROW_BYTES + self.row_cells * GRID_CELL_BYTES + self.row_text;
        if self.row_cells > 0 {
            self.width = self.width.max(self.row_cells);
            self.rows_to_last = self.rows;
            self.grid_text = self
                .grid_text
                .saturating_add(repeats.saturating_mul(self.row_text));
        }
        self.row_cells = 0;
        self.row_text = 0;
    }

    /// Bytes of everything so far, the current sheet's grid counted twice.
    fn estimate(&self) -> u64 {
        let grid = self
            .rows_to_last
            .saturating_mul(self.width)
            .saturating_mul(GRID_CELL_BYTES)
            .saturating_add(self.grid_text);
        self.done
            .saturating_add(self.raw)
            .saturating_add(grid.saturating_mul(2))
            .saturating_add(self.row_cells * GRID_CELL_BYTES + self.row_text)
    }
}

#[cfg(test)]
mod tests;
