//! A JPEG stream read marker by marker (ITU-T T.81, annex B): the upload path cuts
//! metadata segments with it, the engine cuts the AC scans of progressive files.

/// Start of image.
pub const SOI: u8 = 0xD8;
/// End of image.
pub const EOI: u8 = 0xD9;
/// Start of scan: a scan header, followed by entropy-coded data.
pub const SOS: u8 = 0xDA;
/// Define quantization tables.
pub const DQT: u8 = 0xDB;

/// One marker and, for markers that have them, its length and payload.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    pub marker: u8,
    /// Where the marker's 0xFF is in the stream.
    pub offset: usize,
    /// The marker, its two length bytes and its payload (only the marker for the
    /// markers without a length: RSTn, TEM, SOI, EOI).
    pub bytes: &'a [u8],
}

impl<'a> Segment<'a> {
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(4..).unwrap_or_default()
    }
}

/// Why the walk stopped before EOI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// The data ends inside a scan's entropy-coded data (a file cut short, or one
    /// without EOI).
    EndsInScan,
    /// A marker or a segment length is broken, or the data ends outside a scan.
    Broken,
}

/// The segments after SOI, up to and including EOI. After a scan header (SOS) the
/// entropy-coded data is stepped over: it runs from the end of that header to the
/// offset of the next segment. Ends after EOI or after the first error.
pub struct Segments<'a> {
    data: &'a [u8],
    at: usize,
    in_scan: bool,
    done: bool,
}

/// None unless `data` starts with SOI.
pub fn segments(data: &[u8]) -> Option<Segments<'_>> {
    data.starts_with(&[0xFF, SOI]).then_some(Segments {
        data,
        at: 2,
        in_scan: false,
        done: false,
    })
}

impl<'a> Iterator for Segments<'a> {
    type Item = Result<Segment<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.read();
        self.done = !matches!(item, Ok(segment) if segment.marker != EOI);
        Some(item)
    }
}

impl<'a> Segments<'a> {
    fn read(&mut self) -> Result<Segment<'a>, Malformed> {
        let data = self.data;
        let byte = |i: usize| data.get(i).copied().ok_or(Malformed::Broken);
        let mut i = self.at;
        if self.in_scan {
            // Entropy-coded data ends at the first 0xFF that is neither a stuffed
            // 0xFF00 nor a restart marker.
            let ends_in_scan = Malformed::EndsInScan;
            loop {
                i += data[i..]
                    .iter()
                    .position(|&b| b == 0xFF)
                    .ok_or(ends_in_scan)?;
                match data.get(i + 1).copied().ok_or(Malformed::EndsInScan)? {
                    0x00 | 0xD0..=0xD7 => i += 2,
                    _ => break,
                }
            }
        }
        // Any marker may be preceded by fill bytes 0xFF.
        while byte(i)? == 0xFF && byte(i + 1)? == 0xFF {
            i += 1;
        }
        if byte(i)? != 0xFF {
            return Err(Malformed::Broken);
        }
        let marker = byte(i + 1)?;
        let end = if matches!(marker, 0x01 | 0xD0..=0xD9) {
            i + 2
        } else {
            let len = usize::from(u16::from_be_bytes([byte(i + 2)?, byte(i + 3)?]));
            if len < 2 {
                return Err(Malformed::Broken); // the length counts its own two bytes
            }
            i + 2 + len
        };
        let bytes = data.get(i..end).ok_or(Malformed::Broken)?;
        self.at = end;
        self.in_scan = marker == SOS;
        Ok(Segment {
            marker,
            offset: i,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markers(data: &[u8]) -> Vec<Result<(u8, usize), Malformed>> {
        segments(data)
            .expect("starts with SOI")
            .map(|s| s.map(|s| (s.marker, s.offset)))
            .collect()
    }

    #[test]
    fn walks_segments_steps_over_scan_data_and_stops_at_eoi() {
        let data = [
            0xFF, 0xD8, // SOI
            0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB, // APP0, 2 payload bytes
            0xFF, 0xFF, 0xFE, 0x00, 0x02, // a fill byte, then an empty COM
            0xFF, 0xDA, 0x00, 0x03, 0x01, // SOS header
            0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56, // scan data: stuffed 0xFF, RST3
            0xFF, 0xD9, // EOI
            0x99, // trailing bytes are not read
        ];
        assert_eq!(
            markers(&data),
            vec![Ok((0xE0, 2)), Ok((0xFE, 9)), Ok((SOS, 13)), Ok((EOI, 25))]
        );
        let app0 = segments(&data).unwrap().next().unwrap().unwrap();
        assert_eq!(app0.payload(), [0xAA, 0xBB]);
        assert_eq!(app0.bytes.len(), 6);
    }

    #[test]
    fn truncation_and_impossible_lengths_are_malformed() {
        assert!(segments(b"not a jpeg").is_none());
        for len in [0u8, 1] {
            let data = [0xFF, 0xD8, 0xFF, 0xE1, 0x00, len, 0xFF, 0xD9];
            assert_eq!(markers(&data), vec![Err(Malformed::Broken)], "length {len}");
        }
        // A segment longer than the stream; a scan without an end.
        assert_eq!(
            markers(&[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x09, 0x00]),
            vec![Err(Malformed::Broken)]
        );
        let unended = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34];
        assert_eq!(
            markers(&unended),
            vec![Ok((SOS, 2)), Err(Malformed::EndsInScan)]
        );
        let last_ff = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF];
        assert_eq!(
            markers(&last_ff),
            vec![Ok((SOS, 2)), Err(Malformed::EndsInScan)]
        );
        // A broken segment right after a scan is not the end of the data.
        let broken = [
            0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0xE1, 0x00, 0x00,
        ];
        assert_eq!(markers(&broken), vec![Ok((SOS, 2)), Err(Malformed::Broken)]);
        // Bytes where a marker should be.
        assert_eq!(
            markers(&[0xFF, 0xD8, 0x12, 0x34]),
            vec![Err(Malformed::Broken)]
        );
    }
}
