import { useState } from "react";
import { greeting } from "../lib/greeting";

export default function Home() {
  const [count, setCount] = useState(0);
  return (
    <main>
      <h1>{greeting("Next.js")}</h1>
      <p>A one-page app served by the standalone server.</p>
      <button onClick={() => setCount(count + 1)}>clicked {count} times</button>
    </main>
  );
}
