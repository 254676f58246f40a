//! Tests of the shared row handling and the CSV reader: every shape a CRM or Excel export has,
//! and each limit on small inputs with small limits.
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
    let e = read_csv(
        big.as_bytes(),
        ImportLimits {
            max_bytes: 50_000,
            ..Default::default()
        },
        |_| true,
    )
    .unwrap_err();
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

/// Answers at most `n` bytes per read, as a network body may.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn encoding_and_delimiter_are_detected_from_a_stream_read_in_small_pieces() {
    let text = "Имя,Phone,Город\nАнна,89161234567,Москва\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
    let mut got = Vec::new();
    let r = read_csv(Trickle(&bytes, 3), ImportLimits::default(), |c| {
        got.push(c);
        true
    })
    .unwrap();
    assert_eq!(r.imported, 1, "{r:?}");
    assert_eq!(got[0].name.as_deref(), Some("Анна"));
    assert_eq!(
        got[0].fields.get("Город").map(String::as_str),
        Some("Москва")
    );
}

#[test]
fn an_input_error_is_not_taken_for_the_size_limit() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("connection reset"))
        }
    }
    let e = read_csv(Broken, ImportLimits::default(), |_| true).unwrap_err();
    assert!(matches!(e, ImportError::Io(_)), "{e}");
}

fn workbook(rows: &[[&str; 2]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

#[test]
fn read_contacts_picks_the_reader_from_the_first_bytes() {
    let contacts = |bytes: &[u8]| {
        let mut got = Vec::new();
        let r = read_contacts(Trickle(bytes, 2), ImportLimits::default(), |c| {
            got.push(c);
            true
        });
        r.map(|r| {
            (
                r.imported,
                got.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            )
        })
    };
    let book = workbook(&[["Телефон", "Имя"], ["89161234567", "Анна"]]);
    assert_eq!(
        contacts(&book).unwrap(),
        (1, vec![Some("Анна".to_string())])
    );
    let csv = "Телефон;Имя\n89161234567;Анна\n";
    assert_eq!(
        contacts(csv.as_bytes()).unwrap(),
        (1, vec![Some("Анна".to_string())])
    );
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(csv);
    assert_eq!(
        contacts(&cp1251).unwrap(),
        (1, vec![Some("Анна".to_string())])
    );
    assert!(matches!(contacts(b""), Err(ImportError::Empty)));
    assert!(matches!(
        contacts(b"PK"),
        Err(ImportError::NoPhoneColumn(_))
    ));
    assert!(matches!(
        contacts(&book[..book.len() / 2]),
        Err(ImportError::Workbook(WorkbookProblem::Damaged(_)))
    ));
    let e = read_contacts(
        &book[..],
        ImportLimits {
            max_bytes: 100,
            ..Default::default()
        },
        |_| true,
    )
    .unwrap_err();
    assert!(matches!(e, ImportError::TooLarge(100)), "{e}");
}
fn with(limits: ImportLimits, bytes: &[u8]) -> Result<ImportReport, ImportError> {
    read_contacts(bytes, limits, |_| true)
}

#[test]
fn a_csv_record_longer_than_the_row_limit_is_refused_before_it_is_buffered() {
    let limits = ImportLimits {
        max_row_bytes: 1_000,
        ..Default::default()
    };
    // An unclosed quote makes the rest of the file one record.
    let csv = format!("phone;name\n+79123456789;\"{}", "a;b\n".repeat(10_000));
    let e = with(limits, csv.as_bytes()).unwrap_err();
    assert!(
        matches!(
            e,
            ImportError::Limit(LimitHit::RecordTooLong {
                line: 2,
                max: 1_000
            })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("line 2"), "{e}");
    // A long line without quotes too.
    let csv = format!("phone\n{}\n", "7".repeat(2_000));
    assert!(matches!(
        with(limits, csv.as_bytes()),
        Err(ImportError::Limit(LimitHit::RecordTooLong { .. }))
    ));
    let csv = format!("phone;note\n+79123456789;{}\n", "a".repeat(900));
    assert_eq!(with(limits, csv.as_bytes()).unwrap().imported, 1);
}

#[test]
fn the_rows_limit_holds_for_csv_and_spreadsheets() {
    let limits = ImportLimits {
        max_rows: 3,
        ..Default::default()
    };
    let csv = "phone\n89161234561\n89161234562\nмусор\n";
    assert_eq!(with(limits, csv.as_bytes()).unwrap().imported, 2);
    let csv = "phone\n89161234561\n89161234562\nмусор\n89161234564\n";
    let e = with(limits, csv.as_bytes()).unwrap_err();
    assert!(
        matches!(e, ImportError::Limit(LimitHit::TooManyRows(3))),
        "{e}"
    );
    let rows: Vec<[&str; 2]> = (0..5).map(|_| ["89161234561", "x"]).collect();
    let mut all = vec![["Телефон", "Имя"]];
    all.extend(rows);
    let e = with(limits, &workbook(&all)).unwrap_err();
    assert!(
        matches!(e, ImportError::Limit(LimitHit::TooManyRows(3))),
        "{e}"
    );
}

#[test]
fn a_spreadsheet_row_is_bounded_in_text() {
    let limits = ImportLimits {
        max_row_bytes: 1_000,
        ..Default::default()
    };
    let long = "я".repeat(400);
    let book = workbook(&[
        ["Телефон", "Заметка"],
        ["89161234567", &long],
        [&long, &long],
    ]);
    let e = with(limits, &book).unwrap_err();
    assert!(
        matches!(
            e,
            ImportError::Limit(LimitHit::RowTooLong { row: 3, max: 1_000 })
        ),
        "{e}"
    );
}

#[test]
fn the_answer_lists_the_first_problems_and_counts_them_all() {
    let mut csv = String::from("phone;priority\n");
    for i in 0..5_000 {
        csv.push_str(&format!("мусор {i} {};x\n", "ж".repeat(300)));
    }
    csv.push_str("89161234567;1\n");
    let r = with(ImportLimits::default(), csv.as_bytes()).unwrap();
    assert_eq!(r.imported, 1);
    assert_eq!(r.rejected.len(), 100);
    assert_eq!(r.rejected_total, 10_000);
    assert!(r.rejected_truncated);
    assert_eq!(r.rejected_by_reason["not_a_phone_number"], 5_000);
    assert_eq!(r.rejected_by_reason["bad_priority"], 5_000);
    assert!(r.rejected[0].value.chars().count() <= report::VALUE_CHARS + 1);
    assert!(r.notes[0].contains("first 100 of 10000"), "{:?}", r.notes);
    let answer = serde_json::to_string(&r).unwrap();
    assert!(answer.len() < 64 << 10, "{} bytes", answer.len());
}

#[test]
fn a_number_in_scientific_notation_is_one_problem_saying_what_to_do() {
    let csv = "phone\n7,91612E+10\n7.91612E+10\n\"7,9E+10\"\n7.9161234567E+10\n\
               \"89161234568, 7,91612E+10\"\n";
    let (r, got) = run(csv.as_bytes());
    let rows: Vec<(u64, &str, &str)> = r
        .rejected
        .iter()
        .map(|p| (p.row, p.value.as_str(), p.kind))
        .collect();
    assert_eq!(
        rows,
        [
            (2, "7,91612E+10", "scientific_notation"),
            (3, "7.91612E+10", "scientific_notation"),
            (4, "7,9E+10", "scientific_notation"),
            (6, "7,91612E+10", "scientific_notation"),
        ]
    );
    assert!(
        r.rejected[0].reason.contains("format"),
        "{}",
        r.rejected[0].reason
    );
    assert!(r.rejected[0].reason.contains("Text"));
    // All the digits still there: the number.
    assert_eq!(got[0].numbers[0].e164, "+79161234567");
    assert_eq!(got[1].numbers[0].e164, "+79161234568");
    assert_eq!(r.imported, 2);
}

#[test]
fn an_extension_is_kept_in_a_field_and_noted() {
    let csv = "Телефон;Имя\n+7 (916) 123-45-68 доб. 123;Анна\n8 495 123-45-67 ext 45;Олег\n\
               79161234569;Ира\n";
    let (r, got) = run(csv.as_bytes());
    assert_eq!((r.imported, r.rejected_total), (3, 0), "{r:?}");
    assert_eq!(got[0].numbers[0].e164, "+79161234568");
    assert_eq!(
        got[0].fields.get(EXTENSION_FIELD).map(String::as_str),
        Some("123")
    );
    assert_eq!(
        got[1].fields.get(EXTENSION_FIELD).map(String::as_str),
        Some("45")
    );
    assert!(!got[2].fields.contains_key(EXTENSION_FIELD));
    assert_eq!(r.extensions, 2);
    assert!(
        r.notes.iter().any(|n| n.contains("добавочный")),
        "{:?}",
        r.notes
    );
}

#[test]
fn toll_free_numbers_import_and_premium_ones_say_why_not() {
    let csv = "phone\n8-800-555-35-35\n8 (812) 123-45-67\n8-809-505-11-22\n";
    let (r, got) = run(csv.as_bytes());
    assert_eq!(got[0].numbers[0].e164, "+78005553535");
    assert_eq!(got[1].numbers[0].e164, "+78121234567");
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].kind, "premium_rate");
}

#[test]
fn the_set_of_numbers_seen_is_compact() {
    assert_eq!(national("+79123456789"), Some(9_123_456_789));
    let csv = "phone\n+79123456789\n89123456789\n";
    let (r, _) = run(csv.as_bytes());
    assert_eq!((r.imported, r.duplicates), (1, 1));
}

#[test]
fn a_broken_connection_midway_ends_the_import() {
    struct Cut(usize);
    impl Read for Cut {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("connection reset"));
            }
            let line = b"89161234567\n";
            let n = line.len().min(buf.len());
            buf[..n].copy_from_slice(&line[..n]);
            self.0 -= 1;
            Ok(n)
        }
    }
    let head = Cursor::new(b"phone\n".to_vec());
    let e = read_csv(head.chain(Cut(10_000)), ImportLimits::default(), |_| true).unwrap_err();
    assert!(matches!(e, ImportError::Io(_)), "{e}");
}
