//! Parser tests, one construct at a time.

use super::*;

fn parse(text: &str) -> Dockerfile {
    Dockerfile::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn error(text: &str) -> ParseError {
    Dockerfile::parse(text).expect_err("should not parse")
}

fn shell(instruction: &Instruction) -> &str {
    match instruction.command() {
        Some(CommandForm::Shell(text)) => text,
        other => panic!("not the shell form: {other:?}"),
    }
}

#[test]
fn stages_names_indexes_and_keywords_in_any_case() {
    let file = parse(
        "from golang:1.22 as Build\nrun go build\nFrom build AS test\nFROM scratch\ncopy --from=build /app /app\n",
    );
    assert_eq!(file.stages.len(), 3);
    let build = &file.stages[0];
    assert_eq!((build.index, build.name.as_deref()), (0, Some("Build")));
    assert_eq!(build.from.keyword, "from");
    assert_eq!(build.instructions[0].kind, InstructionKind::Run);
    assert_eq!(build.base.source, BaseSource::Image);
    assert_eq!(file.stages[1].base.source, BaseSource::Stage(0));
    assert_eq!(file.stages[2].base.source, BaseSource::Scratch);
    assert_eq!(file.final_stage().index, 2);
    assert_eq!(file.stage("build").map(|s| s.index), Some(0));
    assert_eq!(file.stage("1").map(|s| s.index), Some(1));
    assert_eq!(file.stages[2].lines(), LineRange { start: 4, end: 5 });
    let lineage: Vec<usize> = file.final_lineage().iter().map(|s| s.index).collect();
    assert_eq!(lineage, [2]);
}

#[test]
fn lineage_follows_stage_bases() {
    let file =
        parse("FROM python:3.12 AS base\nFROM base AS deps\nFROM alpine AS other\nFROM deps\n");
    let lineage: Vec<usize> = file.final_lineage().iter().map(|s| s.index).collect();
    assert_eq!(lineage, [0, 1, 3]);
}

#[test]
fn global_args_are_substituted_into_from() {
    let file = parse(
        "ARG REGISTRY=docker.io\nARG VERSION=3.12\nARG IMAGE=${REGISTRY}/library/python\nARG VARIANT\n\
         FROM ${IMAGE}:${VERSION}${VARIANT:+-$VARIANT}\nFROM ${BASE:-debian:bookworm-slim} AS two\nFROM python:$UNSET\n",
    );
    assert_eq!(file.global_args.len(), 4);
    let base = &file.stages[0].base;
    assert_eq!(base.raw, "${IMAGE}:${VERSION}${VARIANT:+-$VARIANT}");
    assert_eq!(base.expanded, "docker.io/library/python:3.12");
    assert!(base.unset.is_empty());
    assert_eq!(file.stages[1].base.expanded, "debian:bookworm-slim");
    assert_eq!(file.stages[2].base.expanded, "python:");
    assert_eq!(file.stages[2].base.unset, ["UNSET"]);
}

#[test]
fn args_after_from_do_not_reach_later_froms() {
    let file = parse("FROM alpine\nARG TAG=3\nFROM python:${TAG}\n");
    assert!(file.global_args.is_empty());
    assert_eq!(file.stages[1].base.unset, ["TAG"]);
}

#[test]
fn exec_and_shell_forms() {
    let file = parse(concat!(
        "FROM alpine\n",
        "RUN [\"apk\", \"add\", \"curl\"]\n",
        "RUN echo hello && echo bye\n",
        "CMD [\"sh\", \"-c\", 'not json']\n",
        "ENTRYPOINT [ \"/bin/app\" , \"--serve\" ]\n",
        "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n",
        "CMD [\"unterminated\"\n",
    ));
    let stage = file.final_stage();
    let forms: Vec<&CommandForm> = stage
        .instructions
        .iter()
        .filter_map(|i| i.command())
        .collect();
    assert_eq!(
        *forms[0],
        CommandForm::Exec(vec!["apk".into(), "add".into(), "curl".into()])
    );
    assert_eq!(
        *forms[1],
        CommandForm::Shell("echo hello && echo bye".into())
    );
    // invalid JSON is the shell form, as in Docker
    assert_eq!(
        *forms[2],
        CommandForm::Shell("[\"sh\", \"-c\", 'not json']".into())
    );
    assert_eq!(
        *forms[3],
        CommandForm::Exec(vec!["/bin/app".into(), "--serve".into()])
    );
    assert_eq!(
        forms[4],
        &CommandForm::Exec(vec![
            "/bin/bash".into(),
            "-o".into(),
            "pipefail".into(),
            "-c".into()
        ])
    );
    assert_eq!(*forms[5], CommandForm::Shell("[\"unterminated\"".into()));
    assert!(matches!(
        error("FROM alpine\nSHELL /bin/bash -c\n"),
        ParseError::Malformed { line: 2, .. }
    ));
}

#[test]
fn flags_of_copy_run_add_and_from() {
    let file = parse(concat!(
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n",
        "RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=secret,id=token go build ./...\n",
        "FROM scratch\n",
        "COPY --from=build --chown=1000:1000 --chmod=755 /out/app /app\n",
        "ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/a.tar.gz /opt/\n",
        "COPY --link -- --weird-name /x\n",
    ));
    let build = &file.stages[0];
    assert_eq!(build.base.platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(build.base.expanded, "golang:1.22");
    let run = &build.instructions[0];
    let mounts: Vec<Vec<(&str, &str)>> = run.flags_named("mount").map(Flag::options).collect();
    assert_eq!(
        mounts[0],
        [("type", "cache"), ("target", "/root/.cache/go-build")]
    );
    assert_eq!(mounts[1], [("type", "secret"), ("id", "token")]);
    assert_eq!(shell(run), "go build ./...");

    let copy = &file.stages[1].instructions[0];
    assert_eq!(
        copy.flag("from").and_then(|f| f.value.as_deref()),
        Some("build")
    );
    assert_eq!(
        copy.flag("chown").and_then(|f| f.value.as_deref()),
        Some("1000:1000")
    );
    assert_eq!(
        copy.flag("chmod").and_then(|f| f.value.as_deref()),
        Some("755")
    );
    assert_eq!(
        copy.arguments,
        Arguments::Copy {
            sources: vec!["/out/app".into()],
            destination: "/app".into()
        }
    );
    let add = &file.stages[1].instructions[1];
    assert!(
        add.flag("checksum")
            .is_some_and(|f| f.value.as_deref().is_some_and(|v| v.starts_with("sha256:")))
    );
    let link = &file.stages[1].instructions[2];
    assert_eq!(
        link.flags,
        [Flag {
            name: "link".into(),
            value: None
        }]
    );
    assert_eq!(
        link.arguments,
        Arguments::Copy {
            sources: vec!["--weird-name".into()],
            destination: "/x".into()
        }
    );
}

#[test]
fn continuations_keep_original_text_and_lines() {
    let text = "FROM debian\n\nRUN apt-get update \\\n    # a comment inside\n\n    && apt-get install -y curl \\   \n    && rm -rf /var/lib/apt/lists/*\nUSER 1000\n";
    let file = parse(text);
    let run = &file.final_stage().instructions[0];
    assert_eq!(run.lines, LineRange { start: 3, end: 7 });
    assert_eq!(
        shell(run),
        "apt-get update     && apt-get install -y curl     && rm -rf /var/lib/apt/lists/*"
    );
    assert_eq!(
        run.text,
        text.lines().skip(2).take(5).collect::<Vec<_>>().join("\n")
    );
    assert_eq!(
        file.final_stage().instructions[1].lines,
        LineRange { start: 8, end: 8 }
    );
    // the comment inside the instruction is not a free-standing comment
    assert!(file.comments.is_empty());
}

#[test]
fn every_instruction_reproduces_its_lines() {
    let text = "# syntax=docker/dockerfile:1\nARG V=1\n# build\nFROM alpine:${V} AS a\nRUN <<EOF\necho hi\nEOF\nENV A=1 \\\n  B=2\n";
    let file = parse(text);
    let lines: Vec<&str> = text.lines().collect();
    for instruction in file.instructions() {
        let LineRange { start, end } = instruction.lines;
        assert_eq!(instruction.text, lines[start - 1..end].join("\n"));
    }
    assert_eq!(
        file.comments,
        [Comment {
            line: 3,
            text: "build".into()
        }]
    );
}

#[test]
fn crlf_and_byte_order_mark() {
    let file = parse("\u{feff}FROM alpine\r\nRUN echo a \\\r\n  b\r\n");
    assert_eq!(shell(&file.final_stage().instructions[0]), "echo a   b");
}

#[test]
fn directives_only_at_the_top() {
    let file =
        parse("# syntax=docker/dockerfile:1.7\n#escape = `\n# check=skip=all\nFROM alpine\n");
    assert_eq!(file.directives.syntax(), Some("docker/dockerfile:1.7"));
    assert_eq!(file.directives.escape, '`');
    assert_eq!(file.directives.get("check"), Some("skip=all"));
    assert!(file.comments.is_empty());

    // after a comment, a blank line or an unknown name they are plain comments
    for text in [
        "# hello\n# escape=`\nFROM alpine\n",
        "\n# escape=`\nFROM alpine\n",
        "# maintainer=me\n# escape=`\nFROM alpine\n",
        "FROM alpine\n# escape=`\n",
    ] {
        let file = parse(text);
        assert_eq!(file.directives.escape, '\\', "{text}");
        assert!(file.comments.iter().any(|c| c.text == "escape=`"), "{text}");
    }
    assert_eq!(
        error("# escape=`\n# ESCAPE=\\\nFROM alpine\n"),
        ParseError::DuplicateDirective {
            line: 2,
            directive: "escape".into()
        }
    );
    assert_eq!(
        error("# escape=x\nFROM alpine\n"),
        ParseError::InvalidEscape {
            line: 1,
            value: "x".into()
        }
    );
}

#[test]
fn backtick_escape_continues_lines_and_keeps_backslashes() {
    let file = parse(
        "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir C:\\ `\n    && echo done\nCOPY app C:\\app\\\n",
    );
    let stage = file.final_stage();
    assert_eq!(shell(&stage.instructions[0]), "dir C:\\     && echo done");
    assert_eq!(stage.instructions[0].lines, LineRange { start: 3, end: 4 });
    assert_eq!(
        stage.instructions[1].arguments,
        Arguments::Copy {
            sources: vec!["app".into()],
            destination: "C:\\app\\".into()
        }
    );
}

#[test]
fn heredocs() {
    let text = concat!(
        "FROM alpine\n",
        "RUN <<EOF\n",
        "set -e\n",
        "echo $HOME\n",
        "EOF\n",
        "RUN <<-'SCRIPT' sh\n",
        "\t\techo tabs\n",
        "\tSCRIPT\n",
        "RUN <<A cat > /a && cat 3<<\"B\" > /b\n",
        "a body\n",
        "A\n",
        "b body\n",
        "B\n",
        "COPY <<EOF /etc/app.conf\n",
        "key=value\n",
        "EOF\n",
        "USER 1000\n",
    );
    let file = parse(text);
    let stage = file.final_stage();
    let run = &stage.instructions[0];
    assert_eq!(run.lines, LineRange { start: 2, end: 5 });
    assert_eq!(run.heredocs.len(), 1);
    let body = &run.heredocs[0];
    assert_eq!(
        (body.delimiter.as_str(), body.strip_tabs, body.expands),
        ("EOF", false, true)
    );
    assert_eq!(body.content, "set -e\necho $HOME\n");
    assert_eq!(body.lines, LineRange { start: 3, end: 5 });
    assert_eq!(run.text, "RUN <<EOF\nset -e\necho $HOME\nEOF");

    let tabs = &stage.instructions[1].heredocs[0];
    assert_eq!(
        (tabs.delimiter.as_str(), tabs.strip_tabs, tabs.expands),
        ("SCRIPT", true, false)
    );
    assert_eq!(tabs.content, "echo tabs\n");

    let two = &stage.instructions[2];
    let names: Vec<&str> = two.heredocs.iter().map(|h| h.delimiter.as_str()).collect();
    assert_eq!(names, ["A", "B"]);
    assert_eq!(
        two.heredoc("B").map(|h| h.content.as_str()),
        Some("b body\n")
    );
    assert_eq!(two.lines, LineRange { start: 9, end: 13 });

    let copy = &stage.instructions[3];
    assert_eq!(
        copy.arguments,
        Arguments::Copy {
            sources: vec!["<<EOF".into()],
            destination: "/etc/app.conf".into()
        }
    );
    assert_eq!(
        copy.heredoc("EOF").map(|h| h.content.as_str()),
        Some("key=value\n")
    );
    assert_eq!(stage.instructions[4].lines.start, 17);
}

#[test]
fn heredoc_after_a_continued_line_and_not_in_exec_form() {
    let file = parse(
        "FROM alpine\nRUN --mount=type=cache,target=/root/.cache \\\n  <<EOF\npip install x\nEOF\nRUN [\"sh\", \"-c\", \"cat <<EOF\"]\n",
    );
    let stage = file.final_stage();
    assert_eq!(stage.instructions[0].heredocs[0].content, "pip install x\n");
    assert!(stage.instructions[1].heredocs.is_empty());
}

#[test]
fn unterminated_heredoc_names_its_line() {
    assert_eq!(
        error("FROM alpine\nRUN echo\nRUN <<EOF\necho hi\neof\n"),
        ParseError::UnterminatedHeredoc {
            line: 3,
            delimiter: "EOF".into()
        }
    );
    // `<<-` strips tabs only, not spaces
    assert!(matches!(
        error("FROM alpine\nRUN <<-EOF\n  EOF\n"),
        ParseError::UnterminatedHeredoc { line: 2, .. }
    ));
}

#[test]
fn env_label_arg_user_and_others() {
    let file = parse(concat!(
        "ARG A B=2\n",
        "FROM alpine\n",
        "ENV PATH=/app/bin:$PATH NAME=\"Jane Doe\" EMPTY=\n",
        "ENV LEGACY value with  spaces\n",
        "LABEL org.opencontainers.image.title=\"my app\" version=1\n",
        "USER app:staff\n",
        "USER 1000\n",
        "EXPOSE 80/tcp 443\n",
        "VOLUME [\"/data\", \"/logs\"]\n",
        "VOLUME /cache\n",
        "WORKDIR /app\n",
        "STOPSIGNAL SIGTERM\n",
        "HEALTHCHECK --interval=30s CMD curl -f http://localhost/ || exit 1\n",
        "HEALTHCHECK NONE\n",
        "ONBUILD RUN make\n",
        "MAINTAINER someone\n",
    ));
    assert_eq!(
        file.global_args[0].arguments,
        Arguments::Arg(vec![
            ArgDecl {
                name: "A".into(),
                default: None
            },
            ArgDecl {
                name: "B".into(),
                default: Some("2".into())
            },
        ])
    );
    let args: Vec<&Arguments> = file
        .final_stage()
        .instructions
        .iter()
        .map(|i| &i.arguments)
        .collect();
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: v.into(),
    };
    assert_eq!(
        *args[0],
        Arguments::KeyValues(vec![
            kv("PATH", "/app/bin:$PATH"),
            kv("NAME", "Jane Doe"),
            kv("EMPTY", "")
        ])
    );
    assert_eq!(
        *args[1],
        Arguments::KeyValues(vec![kv("LEGACY", "value with spaces")])
    );
    assert_eq!(
        *args[2],
        Arguments::KeyValues(vec![
            kv("org.opencontainers.image.title", "my app"),
            kv("version", "1")
        ])
    );
    assert_eq!(
        *args[3],
        Arguments::User {
            user: "app".into(),
            group: Some("staff".into())
        }
    );
    assert_eq!(
        *args[4],
        Arguments::User {
            user: "1000".into(),
            group: None
        }
    );
    assert_eq!(
        *args[5],
        Arguments::List(vec!["80/tcp".into(), "443".into()])
    );
    assert_eq!(
        *args[6],
        Arguments::List(vec!["/data".into(), "/logs".into()])
    );
    assert_eq!(*args[7], Arguments::List(vec!["/cache".into()]));
    assert_eq!(*args[8], Arguments::Text("/app".into()));
    assert_eq!(*args[9], Arguments::Text("SIGTERM".into()));
    assert_eq!(
        *args[10],
        Arguments::Healthcheck(Some(CommandForm::Shell(
            "curl -f http://localhost/ || exit 1".into()
        )))
    );
    assert_eq!(*args[11], Arguments::Healthcheck(None));
    let Arguments::Onbuild(inner) = args[12] else {
        panic!("{:?}", args[12])
    };
    assert_eq!((inner.kind, shell(inner)), (InstructionKind::Run, "make"));
    assert_eq!(*args[13], Arguments::Text("someone".into()));
}

#[test]
fn malformed_input_names_the_line() {
    assert_eq!(error("FROM\n"), ParseError::MissingImage { line: 1 });
    assert_eq!(
        error("# c\nFROM --platform=linux/amd64\n"),
        ParseError::MissingImage { line: 2 }
    );
    assert_eq!(
        error("ARG BASE=\nFROM ${BASE}\n"),
        ParseError::MissingImage { line: 2 }
    );
    assert!(matches!(
        error("FROM a b c d\n"),
        ParseError::Malformed { line: 1, .. }
    ));
    assert_eq!(
        error("FROM alpine\nFORM x\n"),
        ParseError::UnknownInstruction {
            line: 2,
            keyword: "FORM".into()
        }
    );
    assert_eq!(
        error("RUN echo\nFROM alpine\n"),
        ParseError::BeforeFirstFrom {
            line: 1,
            keyword: "RUN".into()
        }
    );
    assert_eq!(error("# only a comment\n"), ParseError::NoStage { line: 1 });
    assert_eq!(error(""), ParseError::NoStage { line: 1 });
    assert_eq!(
        error("FROM alpine\nRUN\n"),
        ParseError::MissingArguments {
            line: 2,
            keyword: "RUN".into()
        }
    );
    assert!(matches!(
        error("FROM alpine\nCOPY onlyone\n"),
        ParseError::Malformed { line: 2, .. }
    ));
    assert!(matches!(
        error("FROM alpine\nENV A=1 B\n"),
        ParseError::Malformed { line: 2, .. }
    ));
    assert!(matches!(
        error("FROM alpine\nENV \"A=1\n"),
        ParseError::Malformed { line: 2, .. }
    ));
    assert!(matches!(
        error("FROM alpine\nUSER a b\n"),
        ParseError::Malformed { line: 2, .. }
    ));
    assert!(matches!(
        error("FROM alpine\nHEALTHCHECK curl x\n"),
        ParseError::Malformed { line: 2, .. }
    ));
    assert!(matches!(
        error("FROM alpine\nONBUILD FROM x\n"),
        ParseError::Malformed { line: 2, .. }
    ));
    assert!(matches!(
        error("FROM ${A\n"),
        ParseError::Malformed { line: 1, .. }
    ));
    assert_eq!(
        error("FROM a AS x\nFROM b AS X\n"),
        ParseError::DuplicateStageName {
            line: 2,
            name: "X".into()
        }
    );
    // the error message carries the line too
    assert_eq!(
        error("FROM alpine\nFORM x\n").to_string(),
        "line 2: unknown instruction \"FORM\""
    );
}
