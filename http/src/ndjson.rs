//! Splitting a newline-delimited body (NDJSON, `_bulk`, `_msearch`, text lines) into lines:
//! `\n` ends a line, a `\r` before it is dropped, the last line needs no terminator.

/// One line of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// Line number, from 1.
    pub number: usize,
    /// Offset of the line's first byte in the body.
    pub start: usize,
    /// The line, without its `\n` or `\r\n`.
    pub bytes: &'a [u8],
}

impl Line<'_> {
    /// Whether the line holds only white space.
    pub fn is_blank(&self) -> bool {
        self.bytes.iter().all(u8::is_ascii_whitespace)
    }

    /// The line's range in the body.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.start + self.bytes.len()
    }
}

/// Every line of `body`, blank ones included (`_msearch` gives them a meaning).
pub fn lines(body: &[u8]) -> Lines<'_> {
    Lines {
        body,
        at: 0,
        number: 0,
    }
}

/// The iterator of [`lines`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    body: &'a [u8],
    at: usize,
    number: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.at >= self.body.len() {
            return None;
        }
        let start = self.at;
        let end = memchr::memchr(b'\n', &self.body[start..]).map_or(self.body.len(), |i| start + i);
        self.at = end + 1;
        self.number += 1;
        let mut bytes = &self.body[start..end];
        if let [rest @ .., b'\r'] = bytes {
            bytes = rest;
        }
        Some(Line {
            number: self.number,
            start,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_numbers_offsets_and_no_terminators() {
        let body = b"a\r\n\nbc\n  \nd";
        let got: Vec<(usize, usize, &[u8], bool)> = lines(body)
            .map(|l| (l.number, l.start, l.bytes, l.is_blank()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 0, &b"a"[..], false),
                (2, 3, &b""[..], true),
                (3, 4, &b"bc"[..], false),
                (4, 7, &b"  "[..], true),
                (5, 10, &b"d"[..], false),
            ]
        );
        assert_eq!(lines(b"x\n").count(), 1);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(&body[lines(body).nth(2).unwrap().range()], b"bc");
    }
}
