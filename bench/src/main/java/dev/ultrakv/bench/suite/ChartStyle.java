package dev.ultrakv.bench.suite;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.Styler;

import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The look and the PNG encoding of the benchmarks' charts (XChart, drawn off-screen): one for the suite's charts
 * and for {@code bench serve}'s, so that their reports look alike.
 */
public final class ChartStyle {
    /** One panel's size: readable on a laptop screen and small as a file. */
    public static final int WIDTH = 800;
    private static final int HEIGHT = 500;
    /** Font sizes that stay legible when a panel is shown at half size in a report. */
    private static final float TITLE_POINTS = 16f;
    private static final float AXIS_POINTS = 13f;

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private ChartStyle() {
    }

    /** A line chart of one panel's size, styled, its legend inside at the top left. */
    public static XYChart lines(String title, String xTitle, String yTitle) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle)
                .yAxisTitle(yTitle).build();
        apply(chart.getStyler());
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        return chart;
    }

    /** A bar chart {@code width} pixels wide and one panel high, styled. */
    public static CategoryChart bars(int width, String title, String xTitle, String yTitle) {
        CategoryChart chart = new CategoryChartBuilder().width(width).height(HEIGHT).title(title)
                .xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        apply(chart.getStyler());
        return chart;
    }

    /** White backgrounds, readable number patterns and fonts. */
    private static void apply(AxesChartStyler styler) {
        styler.setChartBackgroundColor(Color.WHITE);
        styler.setChartTitleBoxBackgroundColor(Color.WHITE);
        styler.setYAxisDecimalPattern("#,##0.##");
        styler.setChartTitleFont(styler.getChartTitleFont().deriveFont(TITLE_POINTS));
        styler.setAxisTitleFont(styler.getAxisTitleFont().deriveFont(AXIS_POINTS));
        styler.setAxisTickLabelsFont(styler.getAxisTickLabelsFont().deriveFont(AXIS_POINTS));
    }

    /** {@code value}, or a thousandth where it is 0: logarithmic axes cannot show 0. */
    public static double positive(double value) {
        return Math.max(value, 1e-3);
    }

    /** {@code charts} as one PNG, in a grid of {@code rows} × {@code columns} when there are several. */
    public static <T extends Chart<?, ?>> byte[] png(List<T> charts, int rows, int columns) {
        try {
            if (charts.size() == 1) {
                return BitmapEncoder.getBitmapBytes(charts.getFirst(), BitmapEncoder.BitmapFormat.PNG);
            }
            var out = new ByteArrayOutputStream();
            BitmapEncoder.saveBitmap(charts, rows, columns, out, BitmapEncoder.BitmapFormat.PNG);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
