//! The receive jitter buffer: frames ordered by RTP sequence number (never by arrival), played
//! out after a target depth, late packets dropped, a new SSRC resets it, gaps concealed by
//! repeating the last frame at falling level, then silence. Pure: `push` on arrival, `pop`
//! every 20 ms.
use super::rtp::{SequenceNumber, Ssrc};
use crate::media::{Frame, SILENT_FRAME};

/// Frames held before playout starts (60 ms).
pub const TARGET_DEPTH: usize = 3;
/// Most frames held; beyond, the oldest go (a sender running ahead).
pub const CAPACITY: usize = 16;
/// Missing frames concealed by repeating the last one (fading) before silence.
pub const MAX_CONCEAL: u32 = 3;

/// What `pop` produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playout {
    /// A received frame.
    Frame,
    /// A missing frame, concealed.
    Concealed,
    /// Nothing to play (before start, or a long gap).
    Silence,
}

/// One leg's buffer.
#[derive(Debug)]
pub struct JitterBuffer {
    ssrc: Option<Ssrc>,
    /// Next sequence number to play.
    next: Option<SequenceNumber>,
    slots: Box<[Option<(SequenceNumber, Frame)>; CAPACITY]>,
    started: bool,
    last: Frame,
    concealed: u32,
    /// Packets dropped for arriving after their playout time.
    pub late: u64,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl JitterBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self {
            ssrc: None,
            next: None,
            slots: Box::new([None; CAPACITY]),
            started: false,
            last: SILENT_FRAME,
            concealed: 0,
            late: 0,
        }
    }

    fn reset(&mut self, ssrc: Ssrc, seq: SequenceNumber) {
        self.ssrc = Some(ssrc);
        self.next = Some(seq);
        self.slots.iter_mut().for_each(|s| *s = None);
        self.started = false;
    }

    fn buffered(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Adds a decoded frame that arrived with `seq` from `ssrc`.
    pub fn push(&mut self, ssrc: Ssrc, seq: SequenceNumber, frame: &Frame) {
        if self.ssrc != Some(ssrc) {
            self.reset(ssrc, seq);
        }
        let Some(next) = self.next else {
            self.next = Some(seq);
            return self.push(ssrc, seq, frame);
        };
        let mut ahead = seq.since(next);
        if ahead < 0 && !self.started && (-ahead as usize) < CAPACITY - self.buffered() {
            // Before playout starts, an earlier packet moves the start back.
            self.next = Some(seq);
            ahead = 0;
        }
        if ahead < 0 {
            self.late += 1;
            return;
        }
        if ahead as usize >= CAPACITY {
            // Far ahead: the sender jumped (or we fell behind): start again from here.
            self.reset(ssrc, seq);
        }
        let idx = usize::from(seq.0) % CAPACITY;
        self.slots[idx] = Some((seq, *frame));
    }

    /// The next 20 ms to play.
    pub fn pop(&mut self, out: &mut Frame) -> Playout {
        if !self.started {
            if self.buffered() < TARGET_DEPTH {
                out.copy_from_slice(&SILENT_FRAME);
                return Playout::Silence;
            }
            self.started = true;
        }
        let Some(next) = self.next else {
            out.copy_from_slice(&SILENT_FRAME);
            return Playout::Silence;
        };
        self.next = Some(SequenceNumber(next.0.wrapping_add(1)));
        let idx = usize::from(next.0) % CAPACITY;
        match self.slots[idx].take() {
            Some((seq, f)) if seq == next => {
                *out = f;
                self.last = f;
                self.concealed = 0;
                Playout::Frame
            }
            other => {
                self.slots[idx] = other.filter(|(s, _)| s.since(next) > 0);
                self.concealed += 1;
                if self.concealed <= MAX_CONCEAL {
                    let gain = 1.0 - self.concealed as f32 / (MAX_CONCEAL + 1) as f32;
                    for (o, &l) in out.iter_mut().zip(self.last.iter()) {
                        *o = (f32::from(l) * gain) as i16;
                    }
                    Playout::Concealed
                } else {
                    out.copy_from_slice(&SILENT_FRAME);
                    if self.buffered() == 0 {
                        // Talk spurt over: wait for the depth again.
                        self.started = false;
                        self.next = None;
                    }
                    Playout::Silence
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::FRAME_SAMPLES;

    fn frame(v: i16) -> Frame {
        [v; FRAME_SAMPLES]
    }

    #[test]
    fn reorders_by_sequence_and_waits_for_the_depth() {
        let mut jb = JitterBuffer::new();
        let mut out = SILENT_FRAME;
        jb.push(Ssrc(1), SequenceNumber(11), &frame(11));
        jb.push(Ssrc(1), SequenceNumber(10), &frame(10));
        assert_eq!(jb.pop(&mut out), Playout::Silence);
        jb.push(Ssrc(1), SequenceNumber(12), &frame(12));
        let mut got = vec![];
        for _ in 0..3 {
            assert_eq!(jb.pop(&mut out), Playout::Frame);
            got.push(out[0]);
        }
        assert_eq!(got, vec![10, 11, 12]);
    }

    #[test]
    fn late_packets_are_dropped_and_gaps_concealed() {
        let mut jb = JitterBuffer::new();
        let mut out = SILENT_FRAME;
        for s in [100u16, 101, 102, 104] {
            jb.push(Ssrc(1), SequenceNumber(s), &frame(1000));
        }
        for _ in 0..3 {
            assert_eq!(jb.pop(&mut out), Playout::Frame);
        }
        assert_eq!(jb.pop(&mut out), Playout::Concealed);
        assert!(out[0] > 0 && out[0] < 1000, "faded copy");
        jb.push(Ssrc(1), SequenceNumber(103), &frame(5)); // too late now
        assert_eq!(jb.late, 1);
        assert_eq!(jb.pop(&mut out), Playout::Frame);
        assert_eq!(out[0], 1000);
    }

    #[test]
    fn a_new_ssrc_resets_and_wrap_around_is_seamless() {
        let mut jb = JitterBuffer::new();
        let mut out = SILENT_FRAME;
        for s in [65534u16, 65535, 0, 1] {
            jb.push(Ssrc(7), SequenceNumber(s), &frame(s as i16));
        }
        let mut got = vec![];
        for _ in 0..4 {
            jb.pop(&mut out);
            got.push(out[0]);
        }
        assert_eq!(got, vec![-2, -1, 0, 1]);
        jb.push(Ssrc(8), SequenceNumber(500), &frame(9));
        assert_eq!(
            jb.pop(&mut out),
            Playout::Silence,
            "the new stream waits for its depth"
        );
    }
}
