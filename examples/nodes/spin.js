// Never returns: the runtime stops it at the execution's timeout.
export function execute(inputItems, config, context) {
  let n = 0;
  for (;;) n++;
}
