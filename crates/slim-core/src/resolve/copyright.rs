//! Debian's machine-readable copyright files (`/usr/share/doc/PKG/copyright`, DEP-5): the
//! license of the package as a whole, which dpkg's database does not record.

/// The `License:` short name that covers `Files: *`, or the header's when no such paragraph
/// names one; `None` when the file is free-form prose.
pub fn main_license(text: &str) -> Option<String> {
    let mut paragraphs = paragraphs(text);
    let header = paragraphs.next()?;
    // Only the machine-readable format has a header naming it.
    field(&header, "Format")?;
    let covering_all = paragraphs.find(|p| {
        field(p, "Files").is_some_and(|files| files.split_whitespace().any(|f| f == "*"))
    });
    covering_all
        .as_ref()
        .and_then(|p| field(p, "License"))
        .or_else(|| field(&header, "License"))
}

/// Paragraphs as lists of lines; blank (or whitespace-only) lines separate them.
fn paragraphs(text: &str) -> impl Iterator<Item = Vec<&str>> {
    let mut lines = text.lines().peekable();
    std::iter::from_fn(move || {
        while lines.peek().is_some_and(|l| l.trim().is_empty()) {
            lines.next();
        }
        let paragraph: Vec<&str> =
            std::iter::from_fn(|| lines.next_if(|l| !l.trim().is_empty())).collect();
        (!paragraph.is_empty()).then_some(paragraph)
    })
}

/// The first line of a field (the synopsis: for `License:` the short name).
fn field(paragraph: &[&str], name: &str) -> Option<String> {
    paragraph.iter().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (!line.starts_with([' ', '\t']) && key.eq_ignore_ascii_case(name))
            .then(|| value.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENSSL: &str =
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: OpenSSL

Files: crypto/ec/*
Copyright: 2014 Intel
License: BSD-3-clause

Files: *
Copyright: 1995-2020, The OpenSSL Project Authors
\t   1995-1998, Eric A. Young
License: Apache-2.0

License: Apache-2.0
 Licensed under the Apache License 2.0.
";

    #[test]
    fn the_paragraph_for_all_files_names_the_license() {
        assert_eq!(main_license(OPENSSL).as_deref(), Some("Apache-2.0"));
    }

    #[test]
    fn the_header_license_is_the_fallback() {
        let text = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nLicense: GPL-2+\n\nFiles: debian/*\nLicense: MIT\n";
        assert_eq!(main_license(text).as_deref(), Some("GPL-2+"));
    }

    #[test]
    fn prose_copyright_files_have_no_license() {
        let text = "This is Debian's prepackaged version of foo.\n\nCopyright (C) 1999 Someone\nLicense: see below\n";
        assert_eq!(main_license(text), None);
    }
}
