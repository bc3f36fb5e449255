//! Package licenses as SPDX license expressions. Databases name licenses loosely (Debian's
//! `GPL-2+`, `BSD-3-clause`); those the `spdx` crate can canonicalize become real SPDX
//! expressions, the rest become `LicenseRef-` identifiers that keep the original name.

/// A license in SPDX terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum License {
    /// a valid SPDX license expression (`GPL-2.0-or-later`, `MIT OR Apache-2.0`)
    Expression(String),
    /// a license the SPDX list does not name: `LicenseRef-…` and the database's own name
    Other { id: String, name: String },
}

impl License {
    pub fn from_database(name: &str) -> License {
        let name = name.trim();
        if spdx::Expression::parse(name).is_ok() {
            return License::Expression(name.to_string());
        }
        let translated = translate_debian(name);
        for candidate in [
            Some(translated.clone()),
            spdx::Expression::canonicalize(&translated).ok().flatten(),
        ]
        .into_iter()
        .flatten()
        {
            if spdx::Expression::parse(&candidate).is_ok() {
                return License::Expression(candidate);
            }
        }
        let id: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        License::Other {
            id: format!("LicenseRef-{id}"),
            name: name.to_string(),
        }
    }

    /// The text for SPDX's `licenseDeclared`.
    pub fn spdx_expression(&self) -> &str {
        match self {
            License::Expression(expression) => expression,
            License::Other { id, .. } => id,
        }
    }
}

/// Debian's short names (DEP-5) in SPDX spelling: `GPL-2+` is `GPL-2.0-or-later`,
/// `BSD-3-clause` is `BSD-3-Clause`, `Expat` is `MIT`; operators in upper case.
fn translate_debian(expression: &str) -> String {
    expression
        .replace(',', " ")
        .replace('(', " ( ")
        .replace(')', " ) ")
        .split_whitespace()
        .map(|token| match token.to_ascii_lowercase().as_str() {
            "and" | "or" | "with" => token.to_ascii_uppercase(),
            "(" | ")" => token.to_string(),
            _ => debian_license_id(token).unwrap_or_else(|| token.to_string()),
        })
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(")
        .replace(" )", ")")
}

fn debian_license_id(token: &str) -> Option<String> {
    let (base, or_later) = match token.strip_suffix('+') {
        Some(base) => (base, true),
        None => (token, false),
    };
    let base = if base.eq_ignore_ascii_case("expat") {
        "MIT"
    } else {
        base
    };
    // `GPL-2` is `GPL-2.0`: SPDX versions carry a minor number where Debian's may not.
    let with_minor = base
        .rsplit_once('-')
        .filter(|(_, v)| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
        .map(|(name, v)| format!("{name}-{v}.0"));
    let known = [Some(base.to_string()), with_minor]
        .into_iter()
        .flatten()
        .find_map(|name| {
            spdx::identifiers::LICENSES
                .iter()
                .find(|l| l.name.eq_ignore_ascii_case(&name))
                .and_then(|l| spdx::license_id(l.name))
        })?;
    Some(if known.is_gnu() {
        spdx::gnu_license_id(known.name, or_later)
            .map_or(known.name, |id| id.name)
            .to_string()
    } else if or_later {
        format!("{}+", known.name)
    } else {
        known.name.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_identifiers_stay() {
        assert_eq!(
            License::from_database("Apache-2.0"),
            License::Expression("Apache-2.0".into())
        );
        assert_eq!(
            License::from_database("MIT OR Apache-2.0"),
            License::Expression("MIT OR Apache-2.0".into())
        );
    }

    #[test]
    fn debian_short_names_are_canonicalized() {
        let expression = |name: &str| match License::from_database(name) {
            License::Expression(e) => e,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(expression("GPL-2+"), "GPL-2.0-or-later");
        assert_eq!(expression("GPL-2"), "GPL-2.0-only");
        assert_eq!(expression("LGPL-2.1+"), "LGPL-2.1-or-later");
        assert_eq!(expression("BSD-3-clause"), "BSD-3-Clause");
        assert_eq!(expression("Expat"), "MIT");
        assert_eq!(
            expression("GPL-2+ or Artistic-2.0"),
            "GPL-2.0-or-later OR Artistic-2.0"
        );
        assert_eq!(
            expression("(GPL-2, or LGPL-2.1+)"),
            "(GPL-2.0-only OR LGPL-2.1-or-later)"
        );
    }

    #[test]
    fn unknown_names_become_license_refs() {
        assert_eq!(
            License::from_database("public-domain and other stuff"),
            License::Other {
                id: "LicenseRef-public-domain-and-other-stuff".into(),
                name: "public-domain and other stuff".into()
            }
        );
    }
}
