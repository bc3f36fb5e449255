//! The Python closure end to end on source snippets and MemTree fixtures; the other
//! languages test themselves in their own modules.

use super::test_support::{
    Summary, extract, file, import, lazy, mandatory, named, names_of_kind, summary, with_files,
};
use super::*;
use crate::resolve::memtree::MemTree;
use ImportKind::{Codec, Mention, Module};
use Language::Python;

/// The summary of `from name import names`, with `level` leading dots.
fn from_import(name: &str, names: &[&str], level: usize, line: usize) -> Summary {
    let names = names.iter().map(|n| n.to_string()).collect();
    (
        name.to_string(),
        ImportKind::From { names, level },
        false,
        line,
    )
}

#[test]
fn python_imports_anywhere_in_the_file() {
    let source = r#"
import os, sys as system
import xml.etree.ElementTree as ET
from json import (
    loads,   # a comment with import fake
    dumps,
)
"""import not_a_module"""
text = "import also_not"
# import commented_out

def handler():
    import csv
    if True:
        from email.mime import text as mime_text
    return importlib.import_module("decimal"), __import__('fractions')

class Lazy:
    def load(self):
        mod = importlib.import_module(name)   # computed: not followed
        return mod
"#;
    assert_eq!(
        summary(Python, source),
        [
            mandatory("os", Module, 2),
            mandatory("sys", Module, 2),
            mandatory("xml.etree.ElementTree", Module, 3),
            from_import("json", &["loads", "dumps"], 0, 4),
            mandatory("csv", Module, 13),
            from_import("email.mime", &["text"], 0, 15),
            mandatory("decimal", Module, 16),
            mandatory("fractions", Module, 16),
        ]
    );
}

#[test]
fn python_relative_optional_and_skipped_imports() {
    let source = r#"
from __future__ import annotations
from typing import TYPE_CHECKING
from . import views
from ..core.models import User
try:
    import ujson as json
except ImportError:
    import json
if TYPE_CHECKING:
    from werkzeug.test import Client
if sys.platform == "win32":
    import winreg
else:
    import fcntl
if __name__ == "__main__":
    import argparse
"#;
    assert_eq!(
        summary(Python, source),
        [
            from_import("typing", &["TYPE_CHECKING"], 0, 3),
            from_import("", &["views"], 1, 4),
            from_import("core.models", &["User"], 2, 5),
            ("ujson".into(), Module, true, 7),
            mandatory("json", Module, 9),
            mandatory("fcntl", Module, 15),
        ]
    );
}

#[test]
fn python_imports_inside_functions_are_lazy() {
    let source = "import os\nclass A:\n    import re\n    def m(self):\n        import csv\n\
                  f = lambda: __import__('json')\n";
    assert_eq!(
        lazy(Python, source),
        named(&[("os", false), ("re", false), ("csv", true), ("json", true)])
    );
}

#[test]
fn python_strings_shaped_like_module_paths_are_mentions() {
    let source = "INSTALLED_APPS = ['django.contrib.admin', 'shop']\nLOG = 'logging.handlers.RotatingFileHandler'\n\
                  TITLE = 'Hello world.'\nCSS = 'site.css'\n";
    assert_eq!(
        names_of_kind(Python, source, Mention),
        [
            "django.contrib.admin",
            "logging.handlers.RotatingFileHandler",
            "site.css"
        ]
    );
    // resolved to the longest module prefix; a miss is no problem
    let tree = with_files(
        python_tree(),
        &[
            ("/usr/lib/python3.11/logging/__init__.py", ""),
            ("/usr/lib/python3.11/logging/handlers.py", ""),
        ],
    );
    let mention = |name: &str| import(name, Mention);
    let got = resolve_python(
        &tree,
        "/app/main.py",
        mention("logging.handlers.RotatingFileHandler"),
    );
    assert_eq!(
        got.files,
        [
            "/usr/lib/python3.11/logging/__init__.py",
            "/usr/lib/python3.11/logging/handlers.py"
        ]
    );
    let got = resolve_python(&tree, "/app/main.py", mention("site.css"));
    assert!(got.files.is_empty() && !got.missing);
}

#[test]
fn python_helpers_only_the_main_block_calls_are_not_followed() {
    let source = "import os\n\ndef _test():\n    import doctest\n\ndef used():\n    import csv\n\n\
                  if __name__ == '__main__':\n    _test()\n";
    let names: Vec<String> = extract(Python, source)
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["os", "csv"]);
}

#[test]
fn python_os_path_is_posixpath() {
    let tree = file(python_tree(), "/usr/lib/python3.11/posixpath.py", "");
    let got = resolve_in_app(&tree, "os.path");
    assert_eq!(got.files, ["/usr/lib/python3.11/posixpath.py"]);
}

#[test]
fn python_file_with_a_syntax_error_still_gives_its_imports() {
    let source = "import os\ndef broken(:\n    pass\nimport json\n";
    let extracted = Parsers::default().extract(Python, source.as_bytes());
    assert!(extracted.problem.is_some());
    assert!(extracted.imports.iter().any(|i| i.name == "os"));
}

#[test]
fn languages_from_names_and_shebangs() {
    assert_eq!(Language::of_file("/app/x.py", b""), Some(Language::Python));
    assert_eq!(Language::of_file("/app/x.mjs", b""), Some(Language::Node));
    assert_eq!(
        Language::of_file("/usr/bin/gunicorn", b"#!/usr/bin/python3\nimport re\n"),
        Some(Language::Python)
    );
    assert_eq!(
        Language::of_file("/usr/local/bin/tool", b"#!/usr/bin/env -S node --x\n"),
        Some(Language::Node)
    );
    assert_eq!(
        Language::of_file("/usr/bin/x", b"#!/usr/bin/perl5.36.0 -w\n"),
        Some(Language::Perl)
    );
    assert_eq!(Language::of_file("/usr/bin/ls", b"\x7fELF"), None);
}

/// A Debian-shaped Python installation.
fn python_tree() -> MemTree {
    let python = MemTree::new().file("/usr/bin/python3.11", 0o755, b"\x7fELF".to_vec());
    let files = [
        ("/usr/lib/python3.11/os.py", "import abc\n"),
        ("/usr/lib/python3.11/abc.py", ""),
        ("/usr/lib/python3.11/csv.py", "import _csv\nimport re\n"),
        (
            "/usr/lib/python3.11/re/__init__.py",
            "from . import _compiler\n",
        ),
        ("/usr/lib/python3.11/re/_compiler.py", ""),
        (
            "/usr/lib/python3.11/json/__init__.py",
            "from .decoder import JSONDecoder\n",
        ),
        ("/usr/lib/python3.11/json/decoder.py", ""),
        ("/usr/lib/python3.11/json/tool.py", "import argparse\n"),
        ("/usr/lib/python3.11/_strptime.py", ""),
        (
            "/usr/lib/python3.11/lib-dynload/_decimal.cpython-311-x86_64-linux-gnu.so",
            "\x7fELF",
        ),
        ("/usr/lib/python3.11/encodings/__init__.py", ""),
        ("/usr/lib/python3.11/encodings/utf_8.py", ""),
        ("/usr/lib/python3.11/encodings/cp1252.py", ""),
        (
            "/usr/lib/python3/dist-packages/flask/__init__.py",
            "from .app import Flask\n",
        ),
        ("/usr/lib/python3/dist-packages/flask/app.py", ""),
        ("/usr/lib/python3/dist-packages/nspkg/part/__init__.py", ""),
        ("/app/main.py", ""),
        ("/app/helpers.py", ""),
    ];
    with_files(python, &files)
}

fn resolve_python(tree: &MemTree, importer: &str, import: Import) -> Resolved {
    let mut resolvers = Resolvers::new(&ImportContext::default());
    resolvers.learn(tree, &["/usr/bin/python3.11".to_string()]);
    resolvers.resolve(tree, Python, importer, &import)
}

/// `import name` in the app's main script.
fn resolve_in_app(tree: &MemTree, name: &str) -> Resolved {
    resolve_python(tree, "/app/main.py", import(name, Module))
}

#[test]
fn python_modules_packages_and_submodules_resolve_on_sys_path() {
    let tree = python_tree();
    let got = resolve_in_app(&tree, "json.decoder");
    assert_eq!(
        got.files,
        [
            "/usr/lib/python3.11/json/__init__.py",
            "/usr/lib/python3.11/json/decoder.py"
        ]
    );
    let from = ImportKind::From {
        names: vec!["decoder".into(), "JSONDecoder".into()],
        level: 0,
    };
    let got = resolve_python(&tree, "/app/main.py", import("json", from));
    assert_eq!(
        got.files,
        [
            "/usr/lib/python3.11/json/__init__.py",
            "/usr/lib/python3.11/json/decoder.py"
        ]
    );
    assert!(!got.missing);
    let got = resolve_in_app(&tree, "flask");
    assert_eq!(
        got.files,
        ["/usr/lib/python3/dist-packages/flask/__init__.py"]
    );
    // a namespace package (no __init__) is found through its portion
    let got = resolve_in_app(&tree, "nspkg.part");
    assert_eq!(
        got.files,
        ["/usr/lib/python3/dist-packages/nspkg/part/__init__.py"]
    );
}

#[test]
fn python_extension_modules_builtins_and_misses() {
    let tree = python_tree();
    let got = resolve_in_app(&tree, "_decimal");
    assert_eq!(
        got.files,
        ["/usr/lib/python3.11/lib-dynload/_decimal.cpython-311-x86_64-linux-gnu.so"]
    );
    let got = resolve_in_app(&tree, "sys");
    assert!(got.files.is_empty() && !got.missing);
    let got = resolve_in_app(&tree, "numpy");
    assert!(got.missing);
    // `os.path` style: a module has no submodules
    let got = resolve_in_app(&tree, "os.nothing");
    assert!(got.missing);
    // C code imports _strptime for time.strptime
    let got = resolve_in_app(&tree, "time");
    assert_eq!(got.files, ["/usr/lib/python3.11/_strptime.py"]);
}

#[test]
fn python_app_files_import_their_neighbours_and_relative_imports_climb() {
    let tree = python_tree();
    let got = resolve_in_app(&tree, "helpers");
    assert_eq!(got.files, ["/app/helpers.py"]);
    let from = ImportKind::From {
        names: vec!["_compiler".into()],
        level: 1,
    };
    let got = resolve_python(
        &tree,
        "/usr/lib/python3.11/re/__init__.py",
        import("", from),
    );
    assert_eq!(got.files, ["/usr/lib/python3.11/re/_compiler.py"]);
}

#[test]
fn python_codec_names_in_calls_are_followed() {
    let source = "data.decode('Windows-1252')\ncodecs.decode(p, 'unicode-escape', 'ignore')\n\
                  open(path, 'rb', encoding='latin-1')\nprint('not a codec')\n";
    assert_eq!(
        names_of_kind(Python, source, Codec),
        ["Windows-1252", "unicode-escape", "ignore", "latin-1"]
    );

    let tree = file(
        python_tree(),
        "/usr/lib/python3.11/encodings/aliases.py",
        "aliases = {\n    # comment\n    'windows_1252'  : 'cp1252',\n}\n",
    );
    let mut resolvers = Resolvers::new(&ImportContext::default());
    resolvers.learn(&tree, &["/usr/bin/python3.11".to_string()]);
    let traced = ["/usr/lib/python3.11/encodings/__pycache__/cp1252.cpython-311.pyc"];
    // a traced codec that no code names: the name came from data, keep them all
    assert_eq!(resolvers.codec_packages(&traced).len(), 1);
    let got = resolvers.resolve(
        &tree,
        Python,
        "/app/main.py",
        &import("Windows-1252", Codec),
    );
    assert_eq!(got.files, ["/usr/lib/python3.11/encodings/cp1252.py"]);
    // now the code explains it
    assert!(resolvers.codec_packages(&traced).is_empty());
    let got = resolvers.resolve(&tree, Python, "/app/main.py", &import("ignore", Codec));
    assert!(got.files.is_empty() && !got.missing);
}

#[test]
fn extraction_on_threads_keeps_the_input_order() {
    let files: Vec<(Language, Vec<u8>)> = (0..40)
        .map(|i| (Python, format!("import mod{i}\n").into_bytes()))
        .collect();
    let extracted = extract_all(&files, 3);
    for (i, found) in extracted.iter().enumerate() {
        assert_eq!(found.imports[0].name, format!("mod{i}"));
    }
}
