//! The robot's outgoing audio: a queue of decoded prompts sent 20 ms at a time.
use crate::media::{Frame, FRAME_SAMPLES};
use std::collections::VecDeque;
use std::sync::Arc;

/// Prompts queued for sending, with the read position in the first one.
#[derive(Debug, Default)]
pub struct Playback {
    queue: VecDeque<Arc<[i16]>>,
    pos: usize,
}

impl Playback {
    /// Replaces whatever is playing with `items`.
    pub fn start(&mut self, items: Vec<Arc<[i16]>>) {
        self.queue = items.into_iter().filter(|s| !s.is_empty()).collect();
        self.pos = 0;
    }

    /// Stops playback at once (barge-in).
    pub fn stop(&mut self) {
        self.queue.clear();
        self.pos = 0;
    }

    /// Whether anything is left to send.
    pub fn is_playing(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Fills `out` with the next 20 ms (silence when idle). Returns true when this frame
    /// carried the last samples of the queue.
    pub fn next_frame(&mut self, out: &mut Frame) -> bool {
        let mut filled = 0;
        while filled < FRAME_SAMPLES {
            let Some(cur) = self.queue.front() else { break };
            let take = (cur.len() - self.pos).min(FRAME_SAMPLES - filled);
            out[filled..filled + take].copy_from_slice(&cur[self.pos..self.pos + take]);
            filled += take;
            self.pos += take;
            if self.pos == cur.len() {
                self.queue.pop_front();
                self.pos = 0;
            }
        }
        out[filled..].fill(0);
        filled > 0 && self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_items_back_to_back_and_reports_the_end_once() {
        let a: Arc<[i16]> = vec![1i16; 250].into();
        let b: Arc<[i16]> = vec![2i16; 100].into();
        let mut p = Playback::default();
        p.start(vec![a, b]);
        let mut f = [0i16; FRAME_SAMPLES];
        assert!(!p.next_frame(&mut f));
        assert!(f.iter().all(|&s| s == 1));
        assert!(!p.next_frame(&mut f));
        assert_eq!(f[89], 1);
        assert_eq!(f[90], 2);
        assert_eq!(f[159], 2);
        assert!(p.next_frame(&mut f));
        assert_eq!(f[29], 2);
        assert_eq!(f[30], 0);
        assert!(!p.is_playing());
        assert!(!p.next_frame(&mut f));
        assert!(f.iter().all(|&s| s == 0));
    }

    #[test]
    fn stop_silences_at_once() {
        let mut p = Playback::default();
        p.start(vec![vec![5i16; 1000].into()]);
        p.stop();
        let mut f = [7i16; FRAME_SAMPLES];
        assert!(!p.next_frame(&mut f));
        assert!(f.iter().all(|&s| s == 0));
    }
}
