//! G.711 µ-law and A-law. (interface fixed by the skeleton)

/// Encodes a linear sample to µ-law.
pub fn linear_to_ulaw(_s: i16) -> u8 {
    0xff
}
/// Decodes a µ-law byte.
pub fn ulaw_to_linear(_u: u8) -> i16 {
    0
}
/// Encodes a linear sample to A-law.
pub fn linear_to_alaw(_s: i16) -> u8 {
    0xd5
}
/// Decodes an A-law byte.
pub fn alaw_to_linear(_a: u8) -> i16 {
    0
}
