//! Membership in a bundled word list, searched where it lies in the component's data.
//!
//! A fresh instance serves every call, so anything built at start-up (a hash set, even a vector
//! of lines) would be rebuilt for every applicant. Instead the lists are kept sorted (byte order,
//! as `LC_ALL=C sort` writes them), one entry per line, and searched by bisecting the text itself:
//! no allocation and a few dozen comparisons per lookup.

pub struct SortedLines(&'static str);

impl SortedLines {
    /// `text` must be sorted in byte order, one entry per `\n`-terminated line; the tests of
    /// each list check that it is.
    pub const fn new(text: &'static str) -> Self {
        Self(text)
    }

    pub fn contains(&self, needle: &str) -> bool {
        let text = self.0.as_bytes();
        let needle = needle.as_bytes();
        // Invariant: `low` and `high` are line starts (or the end of the text), and the needle,
        // if present, is a line within text[low..high].
        let (mut low, mut high) = (0, text.len());
        while low < high {
            let middle = low + (high - low) / 2;
            let start = text[low..middle]
                .iter()
                .rposition(|&byte| byte == b'\n')
                .map_or(low, |offset| low + offset + 1);
            let end = text[start..high]
                .iter()
                .position(|&byte| byte == b'\n')
                .map_or(high, |offset| start + offset);
            match text[start..end].cmp(needle) {
                std::cmp::Ordering::Equal => return true,
                std::cmp::Ordering::Less => low = end + 1,
                std::cmp::Ordering::Greater => high = start,
            }
        }
        false
    }

    #[cfg(test)]
    pub fn lines(&self) -> impl Iterator<Item = &'static str> {
        self.0.lines()
    }
}

#[cfg(test)]
pub fn assert_is_a_sorted_list(list: &SortedLines) {
    let lines: Vec<&str> = list.lines().collect();
    assert!(!lines.is_empty(), "the list is empty");
    assert!(list.0.ends_with('\n'), "the list must end with a newline");
    for line in &lines {
        assert!(!line.is_empty(), "blank line in the list");
        assert_eq!(line.trim(), *line, "{line:?} has surrounding whitespace");
        assert_eq!(line.to_lowercase(), *line, "{line:?} is not lower case");
    }
    for pair in lines.windows(2) {
        assert!(
            pair[0] < pair[1],
            "{:?} must come after {:?}",
            pair[0],
            pair[1]
        );
    }
    for line in &lines {
        assert!(list.contains(line), "{line:?} is in the list but not found");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRUIT: SortedLines = SortedLines::new("apple\nbanana\ncherry\ndate\nelderberry\n");

    #[test]
    fn finds_every_entry_and_nothing_else() {
        assert_is_a_sorted_list(&FRUIT);
        for absent in [
            "",
            "a",
            "apples",
            "appl",
            "blueberry",
            "cherr",
            "zucchini",
            "date\n",
        ] {
            assert!(!FRUIT.contains(absent), "{absent:?} was found");
        }
    }

    #[test]
    fn works_without_a_final_newline_and_on_one_entry() {
        assert!(SortedLines::new("alpha\nbeta").contains("beta"));
        assert!(SortedLines::new("alpha\nbeta").contains("alpha"));
        assert!(SortedLines::new("only").contains("only"));
        assert!(!SortedLines::new("").contains("only"));
    }
}
