//! Reading numbers back from bundled Russian number prompts. (interface fixed by the skeleton)

/// Prompt names (files under `prompts/numbers/`, without extension) that say `digits` as a
/// number with correct agreement ("12345" → ["12", "тысяч", "300", "40", "5"]-like names).
pub fn number_prompts(digits: &str) -> Vec<String> {
    let _ = digits;
    Vec::new()
}
