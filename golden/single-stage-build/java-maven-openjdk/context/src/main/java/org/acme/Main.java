package org.acme; public class Main { public static void main(String[] a) { } }
