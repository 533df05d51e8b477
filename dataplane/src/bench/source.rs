//! Captures held in memory, read in place: the [`PacketSource`] the
//! benchmark hands the engine, so neither the disk nor a copy per record
//! is measured.

use crate::capture::{Record, Records};
use crate::engine::PacketSource;

use super::Input;

/// The records of captures held in memory, one input after the other.
pub(crate) struct SliceSource<'a> {
    inputs: &'a [Input],
    current: Option<(usize, Records<'a>)>,
    next: usize,
    done_bytes: u64,
    total_bytes: u64,
    warnings: Vec<crate::warning::RunWarning>,
}

impl<'a> SliceSource<'a> {
    pub(crate) fn new(inputs: &'a [Input]) -> SliceSource<'a> {
        SliceSource {
            inputs,
            current: None,
            next: 0,
            done_bytes: 0,
            total_bytes: inputs.iter().map(|i| i.bytes.len() as u64).sum(),
            warnings: Vec::new(),
        }
    }

    fn close_current(&mut self) {
        if let Some((i, _)) = self.current.take() {
            self.done_bytes += self.inputs.get(i).map_or(0, |x| x.bytes.len() as u64);
        }
    }
}

impl PacketSource for SliceSource<'_> {
    fn link_types(&mut self) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .inputs
            .iter()
            .flat_map(|i| i.link_types.iter().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn next_record(&mut self) -> Option<Result<Record<'_>, String>> {
        loop {
            if let Some((i, records)) = &mut self.current {
                match records.next() {
                    Some(Ok(r)) => return Some(Ok(r)),
                    Some(Err(e)) => {
                        // The inputs were read through once when loaded, so
                        // this is not expected; it ends the pass all the same.
                        let msg = format!("{}: {e}", self.inputs[*i].name);
                        self.close_current();
                        self.next = self.inputs.len();
                        return Some(Err(msg));
                    }
                    None => self.close_current(),
                }
            }
            let i = self.next;
            let input = self.inputs.get(i)?;
            self.next += 1;
            match Records::from_slice(&input.bytes) {
                Ok(r) => self.current = Some((i, r)),
                Err(e) => {
                    self.next = self.inputs.len();
                    return Some(Err(format!("{}: {e}", input.name)));
                }
            }
        }
    }

    fn input(&self) -> usize {
        self.current
            .as_ref()
            .map_or(self.next.saturating_sub(1), |(i, _)| *i)
    }

    fn input_name(&self, i: usize) -> String {
        self.inputs
            .get(i)
            .map(|x| x.name.clone())
            .unwrap_or_default()
    }

    fn progress(&self) -> (u64, u64) {
        // Records read of the current input, at its average record size:
        // close enough for a progress bar.
        let now = self.current.as_ref().map_or(0, |(i, r)| {
            let inp = &self.inputs[*i];
            let len = inp.bytes.len() as u64;
            if inp.records == 0 {
                0
            } else {
                (u128::from(len) * u128::from(r.records_read()) / u128::from(inp.records))
                    .try_into()
                    .unwrap_or(len)
            }
        });
        (self.done_bytes + now, self.total_bytes)
    }

    fn take_warnings(&mut self) -> Vec<crate::warning::RunWarning> {
        std::mem::take(&mut self.warnings)
    }
}
