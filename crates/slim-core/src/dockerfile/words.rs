//! Splitting argument text into words the way Docker reads them: whitespace separates, single
//! quotes are literal, double quotes group, and the escape character quotes the next character.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// the word with its quotes and escapes removed
    pub text: String,
    /// byte range of the raw word in the input
    pub start: usize,
    pub end: usize,
}

impl Word {
    pub fn raw<'a>(&self, input: &'a str) -> &'a str {
        &input[self.start..self.end]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnclosedQuote(pub char);

/// The first word at or after byte `from`, or None when only whitespace is left.
pub(crate) fn next_word(
    input: &str,
    from: usize,
    escape: char,
) -> Result<Option<Word>, UnclosedQuote> {
    let rest = &input[from..];
    let Some(offset) = rest.find(|c: char| !c.is_whitespace()) else {
        return Ok(None);
    };
    let start = from + offset;
    let mut text = String::new();
    let mut chars = input[start..].char_indices().peekable();
    let mut end = input.len();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                end = start + i;
                break;
            }
            '\'' => loop {
                match chars.next() {
                    Some((_, '\'')) => break,
                    Some((_, c)) => text.push(c),
                    None => return Err(UnclosedQuote('\'')),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, c)) if c == escape => match chars.peek() {
                        Some(&(_, next)) if next == '"' || next == escape || next == '$' => {
                            text.push(next);
                            chars.next();
                        }
                        _ => text.push(c),
                    },
                    Some((_, c)) => text.push(c),
                    None => return Err(UnclosedQuote('"')),
                }
            },
            c if c == escape => match chars.next() {
                Some((_, next)) => text.push(next),
                None => text.push(c),
            },
            c => text.push(c),
        }
    }
    Ok(Some(Word { text, start, end }))
}

/// All words of `input`.
pub(crate) fn split_words(input: &str, escape: char) -> Result<Vec<Word>, UnclosedQuote> {
    let mut words = Vec::new();
    let mut at = 0;
    while let Some(word) = next_word(input, at, escape)? {
        at = word.end;
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<String> {
        split_words(input, '\\')
            .unwrap()
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    #[test]
    fn quotes_group_and_escapes_quote() {
        assert_eq!(texts("a  b\tc"), ["a", "b", "c"]);
        assert_eq!(
            texts(r#"KEY="a b" k2='c $d' e\ f"#),
            ["KEY=a b", "k2=c $d", "e f"]
        );
        assert_eq!(texts(r#""say \"hi\"""#), [r#"say "hi""#]);
        assert_eq!(texts(r#""C:\path""#), [r#"C:\path"#]);
        assert!(texts("   ").is_empty());
    }

    #[test]
    fn raw_ranges_and_unclosed_quotes() {
        let input = r#"--from=build "x y" z"#;
        let words = split_words(input, '\\').unwrap();
        assert_eq!(words[1].raw(input), r#""x y""#);
        assert_eq!(split_words("a 'b", '\\'), Err(UnclosedQuote('\'')));
        assert_eq!(split_words("a \"b", '\\'), Err(UnclosedQuote('"')));
    }

    #[test]
    fn backtick_escape() {
        let words = split_words(r"C:\dir a` b", '`').unwrap();
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, [r"C:\dir", "a b"]);
    }
}
