/** The workspace web/build.ts bundles: every .dlm file of lang-examples/, by relative path. */
declare module "dlm:examples" {
  const files: Record<string, string>;
  export default files;
}
