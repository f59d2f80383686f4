package x; public class T { public static void main(String[] a) { } }
