//! `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}` and `${VAR+alt}` in a
//! word, as Docker substitutes build arguments into FROM.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    pub text: String,
    /// variables the text used that had no value (they expand to nothing)
    pub unset: Vec<String>,
}

/// Expand `input`; `lookup` gives a variable's value (None when it is not set at all).
pub(crate) fn expand(
    input: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Expansion, String> {
    let mut expansion = Expansion {
        text: String::new(),
        unset: Vec::new(),
    };
    let chars: Vec<char> = input.chars().collect();
    let mut at = 0;
    let mut in_double_quotes = false;
    while at < chars.len() {
        let c = chars[at];
        at += 1;
        match c {
            '\'' if !in_double_quotes => {
                let Some(close) = chars[at..].iter().position(|&c| c == '\'') else {
                    return Err("unclosed single quote".into());
                };
                expansion.text.extend(&chars[at..at + close]);
                at += close + 1;
            }
            '"' => in_double_quotes = !in_double_quotes,
            c if c == escape => match chars.get(at) {
                Some(&next) => {
                    expansion.text.push(next);
                    at += 1;
                }
                None => expansion.text.push(c),
            },
            '$' => at = substitute(&chars, at, escape, lookup, &mut expansion)?,
            c => expansion.text.push(c),
        }
    }
    if in_double_quotes {
        return Err("unclosed double quote".into());
    }
    Ok(expansion)
}

/// Substitute the variable reference after a `$` at `chars[at]`; returns where reading goes on.
fn substitute(
    chars: &[char],
    at: usize,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut Expansion,
) -> Result<usize, String> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    match chars.get(at) {
        Some('{') => {
            let body_start = at + 1;
            let close = matching_brace(chars, body_start)
                .ok_or_else(|| "missing } in a ${...} substitution".to_string())?;
            let body: String = chars[body_start..close].iter().collect();
            let name_len = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
            let (name, rest) = body.split_at(name_len);
            if name.is_empty() {
                return Err(format!("bad substitution ${{{body}}}"));
            }
            let value = lookup(name);
            let set_and_not_empty = value.as_deref().is_some_and(|v| !v.is_empty());
            let (op, word) = match rest.strip_prefix(':') {
                Some(after_colon) => (
                    after_colon.chars().next().map(|c| format!(":{c}")),
                    after_colon.get(1..).unwrap_or(""),
                ),
                None => (
                    rest.chars().next().map(String::from),
                    rest.get(1..).unwrap_or(""),
                ),
            };
            let expand_word = |out: &mut Expansion| -> Result<(), String> {
                let inner = expand(word, escape, lookup)?;
                out.text.push_str(&inner.text);
                out.unset.extend(inner.unset);
                Ok(())
            };
            match op.as_deref() {
                None => match value {
                    Some(v) => out.text.push_str(&v),
                    None => out.unset.push(name.to_string()),
                },
                Some(":-") if set_and_not_empty => out.text.push_str(&value.unwrap_or_default()),
                Some(":-") => expand_word(out)?,
                Some("-") => match value {
                    Some(v) => out.text.push_str(&v),
                    None => expand_word(out)?,
                },
                Some(":+") if set_and_not_empty => expand_word(out)?,
                Some("+") if value.is_some() => expand_word(out)?,
                Some(":+") | Some("+") => {}
                Some(":?") | Some("?") => match value {
                    Some(v) if !(op.as_deref() == Some(":?") && v.is_empty()) => {
                        out.text.push_str(&v)
                    }
                    _ => out.unset.push(name.to_string()),
                },
                Some(other) => {
                    return Err(format!("unsupported substitution {other:?} in ${{{body}}}"));
                }
            }
            Ok(close + 1)
        }
        Some(&c) if c.is_ascii_alphabetic() || c == '_' => {
            let end = chars[at..]
                .iter()
                .position(|&c| !is_name_char(c))
                .map_or(chars.len(), |p| at + p);
            let name: String = chars[at..end].iter().collect();
            match lookup(&name) {
                Some(v) => out.text.push_str(&v),
                None => out.unset.push(name),
            }
            Ok(end)
        }
        _ => {
            out.text.push('$');
            Ok(at)
        }
    }
}

/// The index of the `}` closing a `${` whose body starts at `from`, allowing nested `${…}`.
fn matching_brace(chars: &[char], from: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, &c) in chars.iter().enumerate().skip(from) {
        match c {
            '{' if i > 0 && chars[i - 1] == '$' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn text(input: &str, vars: &[(&str, &str)]) -> String {
        expand(input, '\\', &with(vars)).unwrap().text
    }

    #[test]
    fn plain_and_braced_names() {
        let vars = [("IMAGE", "python"), ("TAG", "3.12")];
        assert_eq!(text("$IMAGE:$TAG", &vars), "python:3.12");
        assert_eq!(text("${IMAGE}:${TAG}-slim", &vars), "python:3.12-slim");
        assert_eq!(text("cost $5 \\$IMAGE", &vars), "cost $5 $IMAGE");
    }

    #[test]
    fn defaults_and_alternatives() {
        let empty = [("EMPTY", "")];
        assert_eq!(text("${MISSING:-debian}", &empty), "debian");
        assert_eq!(text("${EMPTY:-debian}", &empty), "debian");
        assert_eq!(text("${EMPTY-debian}", &empty), "");
        assert_eq!(text("${MISSING-debian}", &empty), "debian");
        assert_eq!(text("x${EMPTY:+-y}", &empty), "x");
        assert_eq!(text("x${EMPTY+-y}", &empty), "x-y");
        assert_eq!(text("${A:-${B:-nested}}", &[]), "nested");
    }

    #[test]
    fn unset_variables_are_reported() {
        let expansion = expand("python:${TAG}", '\\', &with(&[])).unwrap();
        assert_eq!(expansion.text, "python:");
        assert_eq!(expansion.unset, ["TAG"]);
        assert!(expand("${TAG", '\\', &with(&[])).is_err());
        assert!(expand("${TAG/a/b}", '\\', &with(&[])).is_err());
    }
}
