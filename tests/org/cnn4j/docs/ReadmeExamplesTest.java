package org.cnn4j.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.cnn4j.backend.Backend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every Java example of README.md compiles against the library as built: each ```java block
 * becomes the body of a method (with the packages of cnn4j, java.util and java.nio.file
 * imported) and goes through javac; an error names the block's first line in README.md.
 */
class ReadmeExamplesTest {
    @TempDir
    Path tmp;

    static final String IMPORTS = String.join("\n", "import java.nio.file.*;", "import java.util.*;",
            "import org.cnn4j.backend.*;", "import org.cnn4j.data.*;", "import org.cnn4j.infer.*;",
            "import org.cnn4j.io.*;", "import org.cnn4j.nn.*;", "import org.cnn4j.optim.*;", "import org.cnn4j.tensor.*;",
            "import org.cnn4j.train.*;", "");

    record Example(int line, String code) {
    }

    static List<Example> examples(String markdown) {
        List<Example> out = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^```java\\n(.*?)^```", Pattern.DOTALL).matcher(markdown);
        while (m.find()) {
            int line = markdown.substring(0, m.start()).split("\n", -1).length;
            out.add(new Example(line, m.group(1)));
        }
        return out;
    }

    @Test
    void everyJavaExampleInTheReadmeCompiles() throws Exception {
        Path readme = Path.of("README.md");
        List<Example> examples = examples(Files.readString(readme, StandardCharsets.UTF_8));
        assertTrue(examples.size() >= 3, "README.md has its fit, resume and predictor examples: found " + examples.size());
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertTrue(javac != null, "the tests run on a JDK");
        Path src = Files.createDirectories(tmp.resolve("src/readme"));
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < examples.size(); i++) {
            Example e = examples.get(i);
            String cls = "Example" + e.line();
            String body = "package readme;\n" + IMPORTS + "/** README.md line " + e.line() + " */\npublic class " + cls
                    + " {\n    public static void run() throws Exception {\n" + e.code() + "\n    }\n}\n";
            files.add(Files.writeString(src.resolve(cls + ".java"), body));
        }
        String classpath = Path.of(Backend.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        DiagnosticCollector<JavaFileObject> diag = new DiagnosticCollector<>();
        try (StandardJavaFileManager fm = javac.getStandardFileManager(diag, Locale.ROOT, StandardCharsets.UTF_8)) {
            StringWriter log = new StringWriter();
            boolean ok = javac.getTask(log, fm, diag, List.of("-classpath", classpath, "-d",
                    Files.createDirectories(tmp.resolve("out")).toString(), "-Xlint:none", "-proc:none"), null,
                    fm.getJavaFileObjectsFromPaths(files)).call();
            StringBuilder errors = new StringBuilder();
            diag.getDiagnostics().forEach(d -> errors.append(d.getSource() == null ? "" : d.getSource().getName())
                    .append(':').append(d.getLineNumber()).append(": ").append(d.getMessage(Locale.ROOT)).append('\n'));
            assertTrue(ok, "README.md's Java examples do not compile (ExampleN is the block at README line N; "
                    + "lines count from the wrapper's " + (IMPORTS.split("\n").length + 5) + " lines):\n" + errors + log);
        }
        assertEquals(examples.size(), files.size());
    }

    @Test
    void theExtractorFindsBlocksAndTheirLines() {
        List<Example> e = examples("text\n```java\nint a = 1;\n```\nmore\n```sh\nls\n```\n```java\nint b;\n```\n");
        assertEquals(2, e.size());
        assertEquals(2, e.get(0).line());
        assertEquals("int a = 1;\n", e.get(0).code());
        assertEquals(9, e.get(1).line());
    }
}
