//! In-band DTMF receiver (ITU-T Q.24). (interface fixed by the skeleton)

/// A digit heard on the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfDigit {
    /// '0'..='9', '*', '#', 'A'..='D'.
    pub digit: char,
    /// Sample index (since the receiver was created) where the tone began.
    pub start_sample: u64,
}

/// Streaming receiver; feed any number of samples at a time.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    samples: u64,
}

impl DtmfReceiver {
    /// A receiver with default (Q.24) parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds linear samples; calls `on_digit` once per digit, when it is confirmed.
    pub fn process(&mut self, samples: &[i16], mut _on_digit: impl FnMut(DtmfDigit)) {
        self.samples += samples.len() as u64;
    }
}
