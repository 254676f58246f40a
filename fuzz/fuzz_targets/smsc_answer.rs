//! Fuzz target: whatever SMSC — or something in its place — answers, with whatever HTTP status,
//! the readers of send.php, status.php and balance.php answers say what it means or why not,
//! never panic.
#![no_main]
use autoinformer::actions::smsc_answers::{read_balance, read_send, read_status};
use libfuzzer_sys::fuzz_target;

const STATUSES: [u16; 8] = [200, 200, 200, 400, 403, 429, 500, 503];

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let status = STATUSES[usize::from(*first) % STATUSES.len()];
    let body = String::from_utf8_lossy(rest);
    let _ = read_send(status, &body);
    let _ = read_status(status, &body);
    let _ = read_balance(status, &body);
});
