//! Tests of the package check: each limit on small packages with small limits, and the shapes
//! a real workbook has passing.
use super::*;
use crate::import::read_xlsx;
use std::io::Write;
use zip::write::SimpleFileOptions;

/// A workbook as rust_xlsxwriter writes it: a phone column and two contacts.
fn workbook() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "Телефон").unwrap();
    sheet.write_string(1, 0, "89161234567").unwrap();
    sheet.write_string(2, 0, "89161234568").unwrap();
    book.save_to_buffer().unwrap()
}

/// `book` with some parts replaced (or added), deflated.
fn repack(book: &[u8], parts: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = ZipArchive::new(Cursor::new(book)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default();
    let mut names = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        if let Some((_, new)) = parts.iter().find(|(n, _)| *n == name) {
            data = new.clone();
        }
        out.start_file(&*name, options).unwrap();
        out.write_all(&data).unwrap();
        names.push(name);
    }
    for (name, data) in parts.iter().filter(|(n, _)| !names.iter().any(|m| m == n)) {
        out.start_file(*name, options).unwrap();
        out.write_all(data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn sheet(rows: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<worksheet \
         xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>\
         {rows}</sheetData></worksheet>"
    )
    .into_bytes()
}

fn check(bytes: &[u8], limits: ImportLimits) -> Result<(), ImportError> {
    check_package(bytes, &limits)
}

fn hit(r: Result<(), ImportError>) -> LimitHit {
    match r {
        Err(ImportError::Limit(hit)) => hit,
        other => panic!("no limit hit: {other:?}"),
    }
}

const SHEET: &str = "xl/worksheets/sheet1.xml";

#[test]
fn a_workbook_as_excel_writes_it_passes() {
    check(&workbook(), ImportLimits::default()).unwrap();
    // Quotes and `>` inside attribute values, comments, CDATA and instructions are XML.
    let rows = "<!-- a > comment --><?pi a > b?><row r=\"1\" x:odd='a>b'><c r=\"A1\" \
                t=\"inlineStr\"><is><t><![CDATA[89161234567 > ok]]></t></is></c></row>";
    check(
        &repack(&workbook(), &[(SHEET, sheet(rows))]),
        ImportLimits::default(),
    )
    .unwrap();
}

#[test]
fn a_cell_longer_than_excel_allows_is_refused_in_the_sheet_and_in_shared_strings() {
    let long = "7".repeat(40_000);
    let inline =
        format!("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>{long}</t></is></c></row>");
    let value = format!("<row r=\"1\"><c r=\"A1\"><v>{long}</v></c></row>");
    for rows in [inline, value] {
        let book = repack(&workbook(), &[(SHEET, sheet(&rows))]);
        assert!(matches!(
            hit(check(&book, ImportLimits::default())),
            LimitHit::CellTooLong { max: 32_767, .. }
        ));
    }
    // Rich text: several runs of one shared string add up.
    let run = "я".repeat(20_000);
    let sst =
        format!("<sst uniqueCount=\"1\"><si><r><t>{run}</t></r><r><t>{run}</t></r></si></sst>");
    let book = repack(&workbook(), &[("xl/sharedStrings.xml", sst.into_bytes())]);
    let e = check(&book, ImportLimits::default());
    assert!(matches!(hit(e), LimitHit::CellTooLong { .. }));
    // The whole import says what to do.
    let e = read_xlsx(&book[..], ImportLimits::default(), |_| true).unwrap_err();
    assert!(
        e.to_string().contains("save it again as .xlsx or CSV"),
        "{e}"
    );
}

#[test]
fn shared_strings_are_bounded_in_number_and_bytes() {
    let limits = ImportLimits {
        max_shared_strings: 10,
        max_shared_string_bytes: 1_000,
        ..Default::default()
    };
    let sst = |n: usize, text: &str, announced: u64| {
        let items = format!("<si><t>{text}</t></si>").repeat(n);
        format!("<sst uniqueCount=\"{announced}\">{items}</sst>").into_bytes()
    };
    let book = |sst: Vec<u8>| repack(&workbook(), &[("xl/sharedStrings.xml", sst)]);
    check(&book(sst(10, "abc", 10)), limits).unwrap();
    assert_eq!(
        hit(check(&book(sst(11, "abc", 10)), limits)),
        LimitHit::SharedStrings(10)
    );
    // calamine reserves room for the announced count before reading any.
    assert_eq!(
        hit(check(&book(sst(1, "abc", 4_000_000_000)), limits)),
        LimitHit::SharedStrings(10)
    );
    assert_eq!(
        hit(check(&book(sst(5, &"x".repeat(300), 5)), limits)),
        LimitHit::SharedStringBytes(1_000)
    );
}

#[test]
fn a_sheet_with_more_rows_than_excel_allows_is_refused_without_reading_it_all() {
    let rows = "<row/>".repeat(EXCEL_MAX_ROWS as usize + 1);
    let book = repack(&workbook(), &[(SHEET, sheet(&rows))]);
    assert!(matches!(
        hit(check(&book, ImportLimits::default())),
        LimitHit::SheetRows(_)
    ));
    let rows = "<row/>".repeat(EXCEL_MAX_ROWS as usize);
    let book = repack(&workbook(), &[(SHEET, sheet(&rows))]);
    check(&book, ImportLimits::default()).unwrap();
}

#[test]
fn what_the_parts_unpack_to_is_bounded_while_decompressing() {
    let rows = "<row><c><v>1</v></c></row>".repeat(2_000);
    let book = repack(&workbook(), &[(SHEET, sheet(&rows))]);
    let limits = ImportLimits {
        max_unpacked_bytes: 40_000,
        ..Default::default()
    };
    assert_eq!(hit(check(&book, limits)), LimitHit::Unpacked(40_000));
    let e = read_xlsx(&book[..], limits, |_| true).unwrap_err();
    assert!(e.to_string().contains("CSV"), "{e}");
}

#[test]
fn markup_no_spreadsheet_writes_is_refused() {
    let cases = [
        sheet("<!DOCTYPE x [<!ENTITY a \"b\">]><row/>"),
        sheet("<row/>\0"),
        sheet(&format!("<row x=\"{}\"/>", "a".repeat(300 << 10))),
        sheet(&format!("<!-- {} -->", "a".repeat(300 << 10))),
        sheet(&format!("<?pi {} ?>", "a>".repeat(150 << 10))),
    ];
    for part in cases {
        let book = repack(&workbook(), &[(SHEET, part)]);
        assert!(matches!(
            hit(check(&book, ImportLimits::default())),
            LimitHit::Markup { .. }
        ));
    }
}

#[test]
fn a_package_of_too_many_parts_is_refused_before_it_is_listed() {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..=MAX_PARTS {
        out.start_file(format!("p{i}"), SimpleFileOptions::default())
            .unwrap();
    }
    let bytes = out.finish().unwrap().into_inner();
    assert_eq!(
        hit(check(&bytes, ImportLimits::default())),
        LimitHit::Parts(MAX_PARTS)
    );
}

/// A minimal .ods: `rows` inside its one sheet.
fn ods(rows: &str) -> Vec<u8> {
    let content = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><office:document-content \
         xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
         xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" \
         xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\"><office:body>\
         <office:spreadsheet><table:table table:name=\"Контакты\">{rows}</table:table>\
         </office:spreadsheet></office:body></office:document-content>"
    );
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    out.start_file("mimetype", stored).unwrap();
    out.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    out.start_file("META-INF/manifest.xml", SimpleFileOptions::default())
        .unwrap();
    out.write_all(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><manifest:manifest \
          xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\">\
          <manifest:file-entry manifest:full-path=\"/\" manifest:media-type=\
          \"application/vnd.oasis.opendocument.spreadsheet\"/><manifest:file-entry \
          manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/>\
          </manifest:manifest>",
    )
    .unwrap();
    out.start_file("content.xml", SimpleFileOptions::default())
        .unwrap();
    out.write_all(content.as_bytes()).unwrap();
    out.finish().unwrap().into_inner()
}

fn ods_cell(text: &str, repeat: u64) -> String {
    format!(
        "<table:table-cell table:number-columns-repeated=\"{repeat}\" \
         office:value-type=\"string\"><text:p>{text}</text:p></table:table-cell>"
    )
}

#[test]
fn an_ods_sheet_is_bounded_by_the_grid_its_repeats_expand_to() {
    let header = format!(
        "<table:table-row>{}</table:table-row>",
        ods_cell("Телефон", 1)
    );
    let contact = format!(
        "<table:table-row table:number-rows-repeated=\"2\">{}</table:table-row>",
        ods_cell("89161234567", 1)
    );
    // LibreOffice's filler: formatted empty cells to the end of the sheet, never expanded.
    let filler = "<table:table-row table:number-rows-repeated=\"1048000\"><table:table-cell \
                  table:number-columns-repeated=\"1024\"/></table:table-row>";
    let good = ods(&format!("{header}{contact}{filler}"));
    check(&good, ImportLimits::default()).unwrap();
    let r = read_xlsx(&good[..], ImportLimits::default(), |_| true).unwrap();
    // The same number twice: one contact, one duplicate.
    assert_eq!((r.imported, r.duplicates), (1, 1), "{r:?}");
    // One filled cell repeated across a row, the row repeated: a 10^9-cell grid.
    let bomb = ods(&format!(
        "{header}<table:table-row table:number-rows-repeated=\"1000000\">{}</table:table-row>",
        ods_cell("x", 1000)
    ));
    assert_eq!(
        hit(check(&bomb, ImportLimits::default())),
        LimitHit::SheetTooLarge(160 << 20)
    );
    let e = read_xlsx(&bomb[..], ImportLimits::default(), |_| true).unwrap_err();
    assert!(e.to_string().contains("save it as CSV"), "{e}");
}

/// An xlsb record: type and length as 7-bit groups, then `data`.
fn record(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut r = Vec::new();
    if typ < 0x80 {
        r.push(typ as u8);
    } else {
        r.extend([(typ & 0x7F) as u8 | 0x80, (typ >> 7) as u8]);
    }
    let mut len = data.len();
    loop {
        let b = (len & 0x7F) as u8;
        len >>= 7;
        if len == 0 {
            r.push(b);
            break;
        }
        r.push(b | 0x80);
    }
    r.extend(data);
    r
}

fn records(kind: Records, bytes: &[u8], limits: ImportLimits) -> Result<(), ImportError> {
    let mut scan = RecordScan::new(kind, "xl/x.bin", &limits);
    // In small pieces, as a stream gives them.
    for piece in bytes.chunks(3) {
        scan.feed(piece)?;
    }
    Ok(())
}

#[test]
fn xlsb_records_are_bounded_in_length_and_strings() {
    let item = |chars: u32| {
        let mut d = vec![0u8];
        d.extend(chars.to_le_bytes());
        d.extend([0x41, 0].repeat(chars.min(10) as usize));
        record(19, &d)
    };
    let limits = ImportLimits::default();
    records(
        Records::SharedStrings,
        &[item(5), item(32_767)].concat(),
        limits,
    )
    .unwrap();
    assert!(matches!(
        hit(records(Records::SharedStrings, &item(40_000), limits)),
        LimitHit::CellTooLong { .. }
    ));
    let few = ImportLimits {
        max_shared_strings: 2,
        ..limits
    };
    assert_eq!(
        hit(records(Records::SharedStrings, &item(1).repeat(3), few)),
        LimitHit::SharedStrings(2)
    );
    // A record announcing more than the row limit (calamine allocates what it announces).
    let huge = [0x13, 0xFF, 0xFF, 0xFF, 0x7F];
    assert!(matches!(
        hit(records(Records::Other, &huge, limits)),
        LimitHit::Markup { .. }
    ));
    // A text cell (BrtCellSt): eight bytes of cell, then the string.
    let mut cell = vec![0u8; 8];
    cell.extend(40_000u32.to_le_bytes());
    assert!(matches!(
        hit(records(Records::Sheet, &record(6, &cell), limits)),
        LimitHit::CellTooLong { .. }
    ));
    let rows = record(0, &[0; 12]).repeat(EXCEL_MAX_ROWS as usize + 1);
    assert!(matches!(
        hit(records(Records::Sheet, &rows, limits)),
        LimitHit::SheetRows(_)
    ));
}
