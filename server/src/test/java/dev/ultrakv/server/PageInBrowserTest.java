package dev.ultrakv.server;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/** The page at / in a real headless Chromium: a typed prompt streams a reply and the cache view updates. */
class PageInBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path DRIVER = Path.of("/usr/bin/chromedriver");
    private static UltraKvServer server;
    private static Path profile;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER),
                "Debian's chromium and chromium-driver are not installed (.ci/run installs them)");
        server = TestServers.start(ServerConfig.defaults());
        profile = Files.createTempDirectory("ultrakv-chromium");
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (profile != null) {
            try (var files = Files.walk(profile)) {
                files.sorted(java.util.Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
    }

    @Test
    void typedPromptStreamsAReplyAndTheCacheViewUpdates() {
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile()).addArguments("--headless",
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile())
                .usingAnyFreePort().build();
        WebDriver browser = new ChromeDriver(service, options);
        try {
            browser.get(server.baseUrl() + "/");
            WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(20));
            wait.until(b -> b.findElement(By.id("blocks")).getText().contains("/"));
            String servedBefore = browser.findElement(By.id("served")).getText();
            browser.findElement(By.id("prompt")).sendKeys("Once upon a time", Keys.ENTER);
            wait.until(b -> !b.findElements(By.cssSelector(".assistant")).isEmpty()
                    && b.findElement(By.cssSelector(".assistant")).getText().length() > 20);
            String reply = browser.findElement(By.cssSelector(".assistant")).getText();
            assertFalse(reply.startsWith("error"), reply);
            wait.until(b -> !b.findElement(By.id("served")).getText().equals(servedBefore));
            assertTrue(browser.findElement(By.id("hit")).getText().endsWith("%"));
        } finally {
            browser.quit();
        }
    }
}
